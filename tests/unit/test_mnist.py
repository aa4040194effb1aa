"""The MNIST notebook's vanilla GAN on MNIST: networks, the decoded-tensor datamodule, data errors; the networks of
experiment=mnist_best."""

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.errors import InstantiationException
from torchvision import datasets, transforms

from gan.data.mnist import MNISTDataModule, load_split, raw_files
from gan.errors import ConfigError, DataError
from gan.networks.mlp import MLPDiscriminator, MLPGenerator
from tests.conftest import SHARED_DATA


def write_idx(path: Path, array: np.ndarray) -> None:
    """An unpacked IDX file as LeCun's MNIST pages define it: magic 0x08 (ubyte) + ndim, big-endian dims, bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def random_mnist(root: Path, n_train: int, n_test: int) -> Path:
    """MNIST's raw layout under `root` with random pixels and labels: smoke runs need no 60,000 images."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / "MNIST" / "raw" / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / "MNIST" / "raw" / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n))
    return root


def tiny_idx_set(root: Path, folder: str) -> Path:
    """A tiny 28 x 28 set in torchvision's raw layout under `root/folder/raw`: 30 training and 20 test images."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 30), ("t10k", 20)):
        write_idx(root / folder / "raw" / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / folder / "raw" / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n))
    return root


@pytest.fixture
def fashion_dir(tmp_path) -> Path:
    """A tiny FashionMNIST in torchvision's raw layout."""
    return tiny_idx_set(tmp_path / "data", "FashionMNIST")


def linear_widths(net: torch.nn.Module) -> list[int]:
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    return [layers[0].in_features] + [m.out_features for m in layers]


def test_networks_are_the_seeds():
    d = MLPDiscriminator(channels=1, image_size=28)
    g = MLPGenerator(latent_dim=100, channels=1, image_size=28)
    assert linear_widths(d) == [784, 1024, 512, 256, 1]
    assert linear_widths(g) == [100, 256, 512, 1024, 784]
    assert sum(isinstance(m, torch.nn.Dropout) and m.p == 0.3 for m in d.modules()) == 3
    assert all(m.negative_slope == 0.2 for m in [*d.modules(), *g.modules()] if isinstance(m, torch.nn.LeakyReLU))
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in d.modules())  # logits out; sigmoid is in the loss
    images = g(torch.randn(5, 100))
    assert images.shape == (5, 1, 28, 28) and images.abs().max() < 1
    assert d(images).shape == (5,)


def test_load_split_matches_the_seed_transform():
    images, labels = load_split(SHARED_DATA, "mnist", train=False)
    assert images.shape == (10_000, 1, 28, 28) and images.dtype == torch.float32 and labels.dtype == torch.int64
    seed_transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    seed = datasets.MNIST(SHARED_DATA, train=False, transform=seed_transform)
    for i in (0, 1, 9_999):
        image, label = seed[i]
        torch.testing.assert_close(images[i], image, rtol=0, atol=1e-6)
        assert labels[i] == label
    assert images.min() == -1 and images.max() == 1


def test_datamodule_serves_batches_and_the_test_split():
    dm = MNISTDataModule(SHARED_DATA)
    assert (dm.channels, dm.image_size, dm.num_classes, dm.sample_shape) == (1, 28, 10, (1, 28, 28))
    dm.setup("fit")
    assert dm.train_images.shape == (60_000, 1, 28, 28) and dm.test_labels.shape == (10_000,)
    loader = dm.train_dataloader()
    assert len(loader) == 600  # the original's "Batch Num: [b/600]"
    images, labels = next(iter(loader))
    assert images.shape == (100, 1, 28, 28) and labels.shape == (100,)
    # Each batch is a gather from the decoded tensor: find the served images there by their labels' rows.
    first = torch.nonzero((dm.train_images == images[0]).flatten(1).all(1)).flatten()
    assert len(first) >= 1 and dm.train_labels[first[0]] == labels[0]
    assert sum(len(batch[0]) for batch in dm.val_dataloader()) == 10_000
    assert len(dm.test_dataloader()) == 10


def test_missing_folder_names_folder_files_and_remedy(tmp_path):
    with pytest.raises(DataError) as caught:
        MNISTDataModule(tmp_path).setup()
    message = str(caught.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    for needed in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "paths.data_dir", "data.download=true"):
        assert needed in message


def test_gzipped_files_get_a_gunzip_hint(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(DataError, match="gunzip"):
        load_split(tmp_path, "mnist")


def test_failed_download_says_what_to_do_offline(tmp_path, monkeypatch):
    def no_internet(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried https://..., got: <urlopen error>")

    monkeypatch.setattr(datasets.MNIST, "download", no_internet)
    with pytest.raises(DataError) as caught:
        load_split(tmp_path, "mnist", download=True)
    assert "data.download=true could not fetch" in str(caught.value) and "copy" in str(caught.value).lower()


def test_bad_options_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="fashion_mnist"):
        MNISTDataModule(tmp_path, dataset="cifar10")
    with pytest.raises(ConfigError, match="image_size"):
        MNISTDataModule(tmp_path, image_size=64)  # 32 is served padded (docs/conditional.md)
    with pytest.raises(ConfigError, match="hidden_sizes"):
        MLPGenerator(latent_dim=100, channels=1, image_size=28, hidden_sizes=[])


@pytest.mark.parametrize("dataset, folder", [("fashion_mnist", "FashionMNIST"), ("kmnist", "KMNIST")])
def test_other_28px_sets_are_read_from_their_folders(tmp_path, dataset, folder):
    root = tiny_idx_set(tmp_path, folder)
    assert raw_files(dataset) == raw_files("mnist")  # same names, different folder
    with pytest.raises(DataError, match="MNIST"):
        load_split(root, "mnist", train=True)  # the other set's folder is not MNIST's
    images, labels = load_split(root, dataset, train=True)
    assert images.shape == (30, 1, 28, 28) and labels.shape == (30,)
    assert -1 <= images.min() and images.max() <= 1


def test_subset_trains_on_the_first_images_only(fashion_dir):
    dm = MNISTDataModule(fashion_dir, dataset="fashion_mnist", batch_size=4, subset=10)
    dm.setup("fit")
    full = MNISTDataModule(fashion_dir, dataset="fashion_mnist")
    full.setup("fit")
    assert torch.equal(dm.train_images, full.train_images[:10]) and len(dm.train_labels) == 10
    assert sum(len(images) for images, _ in dm.train_dataloader()) == 10  # an epoch is the subset
    assert len(dm.test_images) == 20  # the held-out split stays whole
    with pytest.raises(ConfigError, match="data.subset=31: fashion_mnist has only 30 training images"):
        MNISTDataModule(fashion_dir, dataset="fashion_mnist", subset=31).setup("fit")
    with pytest.raises(ConfigError, match="data.subset=0"):
        MNISTDataModule(fashion_dir, dataset="fashion_mnist", subset=0)


# ---- experiment=mnist_best: the InfoGAN paper's MNIST networks as a plain GAN --------------------------------
def test_best_experiment_is_infogans_networks_without_codes_with_ema(make_cfg):
    import hydra

    cfg = make_cfg("experiment=mnist_best")
    assert cfg.data.dataset == "mnist" and cfg.model.generator._target_.endswith("InfoGANGenerator")
    assert cfg.model.generator.image_size == 28 and cfg.model.discriminator.channels == 1
    assert cfg.model.ema_decay is not None and cfg.model.monitor == "val/fid"
    # No codes, so no Q head and no mutual-information term: nothing in the recipe could use or find labels.
    model = hydra.utils.instantiate(cfg.model, _convert_="all")
    assert model.latent_codes() == [] and model.discriminator.q_head is None
    # The run is a fixed number of steps whose second half decays both lrs to 0 (docs/mnist.md).
    assert cfg.trainer.max_steps > 0 and 0 < cfg.model.lr_decay_start < 1


def test_infogan_networks_without_codes_are_a_plain_gan(make_cfg, tmp_path):
    """model=infogan with categorical=0, continuous=0: the paper's networks, no codes in the noise, no Q head, no
    mutual-information term (what mnist_best may use); one code alone is still refused."""
    import hydra

    tiny = ["model=infogan", "data=mnist", "model.generator.width=4", "model.generator.hidden=8",
            "model.discriminator.width=4", "model.discriminator.hidden=8", "model.generator.latent_dim=6"]
    model = hydra.utils.instantiate(make_cfg(*tiny, "model.categorical=0", "model.continuous=0").model, _convert_="all")
    assert model.discriminator.q_head is None and not any("q_head" in name for name, _ in model.named_parameters())
    noise = model.sample_noise(5)
    assert noise.shape == (5, 6) and 0 <= noise.min() and noise.max() < 1  # all of it U(0, 1) noise, no one-hot
    fake = model.generator(noise)
    assert model.code_loss(fake, noise) is None and model.latent_codes() == [] and model.categorical_code(noise) is None
    assert model.discriminator(fake).shape == (5,)
    with pytest.raises(RuntimeError, match="no Q head"):
        model.discriminator.codes(fake)
    grid, labels, nrow = model.grid_inputs(4)
    assert torch.equal(grid, model.fixed_noise[:4]) and labels is None and nrow is None
    for categorical, continuous in ((0, 2), (1, 0)):
        with pytest.raises(InstantiationException, match=f"model.categorical={categorical}"):
            hydra.utils.instantiate(make_cfg(*tiny, f"model.categorical={categorical}",
                                             f"model.continuous={continuous}").model)


def test_ema_warmup_follows_tensorflows_rule():
    """model.ema_warmup: decay min(ema_decay, (1 + n) / (10 + n)) after n updates; off, the plain decay."""
    from gan.models.gan import _ema_update

    for warmup, n, decay in ((True, 1, 2 / 11), (True, 10_000, 0.999), (False, 1, 0.999)):
        ema, current = [torch.zeros(3)], [torch.ones(3)]
        _ema_update(0.999, warmup, ema, current, torch.tensor(n))
        torch.testing.assert_close(ema[0], torch.full((3,), 1 - decay))
