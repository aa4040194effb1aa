"""Standard Inception FID (eval.inception), offline: our plumbing against torch-fidelity's own computation on the
same weights and images, the weights found in torch's hub cache without a network, and one line for each way
it cannot work. The weights are a randomly initialised Inception saved in the real file's format."""

import urllib.error

import pytest
import torch
from torch import nn

from gan.errors import ConfigError, DataError
from gan.validate.config import check_run_keys

torch_fidelity = pytest.importorskip("torch_fidelity", reason="the `inception` extra (torch-fidelity) is not installed")

from gan.eval import image  # noqa: E402
from gan.eval.image import (  # noqa: E402
    INCEPTION_FILE,
    InceptionFID,
    hub_inception_file,
    inception_weights_file,
)


def random_inception_file(path):
    """torch-fidelity's Inception with random He-initialised convolutions (features neither vanish nor blow up
    through its 90-odd layers), saved as the state dict its weights file holds."""
    from torch_fidelity import feature_extractor_inceptionv3 as module

    original = module.FeatureExtractorInceptionV3.load_state_dict, module.load_state_dict_from_url
    module.FeatureExtractorInceptionV3.load_state_dict = lambda self, state, *args, **kwargs: None
    module.load_state_dict_from_url = lambda *args, **kwargs: {}  # nothing fetched: the weights stay random
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            network = module.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
            for layer in network.modules():
                if isinstance(layer, nn.Conv2d):
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    finally:
        module.FeatureExtractorInceptionV3.load_state_dict, module.load_state_dict_from_url = original
    torch.save(network.state_dict(), path)
    return path


class Images(torch.utils.data.Dataset):
    """uint8 (C, S, S) images, as torch-fidelity reads them from files."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


@pytest.mark.slow
def test_our_inception_fid_is_torch_fidelitys_on_the_same_weights_and_images(tmp_path):
    weights = random_inception_file(tmp_path / INCEPTION_FILE)
    generator = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=generator)
    fake = (real.float() * 0.6 + 40).round().to(torch.uint8)  # darker, lower-contrast copies

    ours = InceptionFID(weights)
    ours.update(real.float() / 127.5 - 1, real=True)  # the generator's [-1, 1] range
    ours.update(fake.float() / 127.5 - 1, real=False)
    fid = ours.compute()["inception_fid"]

    # the library's own features of the same real images: the [-1, 1] -> uint8 mapping loses nothing
    network = torch_fidelity.feature_extractor_inceptionv3.FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights))
    with torch.no_grad():
        library_mean = network(real)[0].double().mean(0)
    torch.testing.assert_close(ours.fid.real_features_sum / ours.fid.real_features_num_samples, library_mean,
                               rtol=1e-4, atol=1e-5)
    assert library_mean.abs().mean() > 1e-3  # features that say something

    library = torch_fidelity.calculate_metrics(
        input1=Images(fake), input2=Images(real), fid=True, cuda=False, cache=False, verbose=False,
        save_cpu_ram=True, batch_size=8, feature_extractor_weights_path=str(weights),
    )["frechet_inception_distance"]
    assert fid > 1.0  # the copies differ from the real images
    # 8 images of 2048 features: the covariances are singular, and the two float paths differ in their null space
    assert fid == pytest.approx(library, rel=2e-2)


def test_download_finds_the_hub_cache_without_a_network(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_network)
    cached = hub_inception_file()
    assert cached == tmp_path / "torch" / "hub" / "checkpoints" / INCEPTION_FILE  # where torch-fidelity puts it
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    assert inception_weights_file("download") == cached
    assert inception_weights_file(str(cached)) == cached  # and as a local file


def test_download_without_a_network_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_network)
    with pytest.raises(DataError) as error:
        inception_weights_file("download")
    message = str(error.value)
    assert "\n" not in message and "eval.inception=download: could not fetch" in message
    assert "Name or service not known" in message and str(hub_inception_file()) in message
    assert not hub_inception_file().exists()


def _no_network(*args, **kwargs):
    raise urllib.error.URLError("[Errno -2] Name or service not known")


def test_missing_weights_or_torch_fidelity_is_one_line(tmp_path, monkeypatch):
    with pytest.raises(DataError, match=r"eval.inception=.*missing.pth: no such file"):
        InceptionFID(tmp_path / "missing.pth")
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"")
    monkeypatch.setattr(image, "_TORCH_FIDELITY_AVAILABLE", False)
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[inception\]"'):
        InceptionFID(weights)


def test_eval_inception_reaches_the_image_models_and_is_checked_before_a_run(make_cfg, tmp_path, monkeypatch):
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"")
    assert make_cfg("model=dcgan", "data=image_folder").eval.inception is None  # off unless asked
    cfg = make_cfg("model=dcgan", "data=image_folder", f"eval.inception={weights}")
    assert cfg.eval.inception == str(weights)  # the evaluator reads it there, and checkpoints keep it
    check_run_keys(cfg)
    assert make_cfg("model=vanilla", "data=mnist", "eval.inception=download").eval.inception == "download"
    with pytest.raises(ConfigError, match="no such file"):
        check_run_keys(make_cfg("model=dcgan", "data=image_folder", f"eval.inception={tmp_path / 'nope.pth'}"))
    with pytest.raises(ConfigError, match="judges image GANs"):
        check_run_keys(make_cfg("eval.inception=download"))  # the Gaussian GAN
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(ConfigError, match=r"optional `inception` extra"):
        check_run_keys(cfg)
