"""Conditional GANs and InfoGAN, built: G(z, c) and D(x, c), the cgan config, labelled folders, class figures on
hand-made inputs, latent codes and the Q head."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from gan.errors import ConfigError
from gan.networks.mlp import MLPDiscriminator, MLPGenerator
from tests.unit.test_mnist import random_mnist

TINY_CGAN = ["model=cgan", "data=mnist", "data.batch_size=8", "model.generator.hidden_sizes=[8]",
             "model.discriminator.hidden_sizes=[8]", "model.generator.latent_dim=4", "model.eval_samples=40",
             "logger=none", "+eval.feature_build.min_accuracy=0"]  # random labels: a chance-level classifier


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """MNIST's raw layout with 40 training and 40 test images (random pixels, random labels)."""
    return random_mnist(tmp_path_factory.mktemp("tiny_mnist"), n_train=40, n_test=40)


def test_conditional_networks_use_the_label_and_only_the_label():
    torch.manual_seed(0)
    g = MLPGenerator(latent_dim=4, channels=1, image_size=28, hidden_sizes=[8], num_classes=10).eval()
    d = MLPDiscriminator(channels=1, image_size=28, hidden_sizes=[8], num_classes=10).eval()
    z = torch.randn(3, 4)
    threes, sevens = torch.full((3,), 3), torch.full((3,), 7)
    assert not torch.allclose(g(z, threes), g(z, sevens))
    assert torch.equal(g(z, threes), g(z, threes.clone()))
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    assert not torch.allclose(d(x, threes), d(x, sevens))
    assert torch.equal(d(x, threes), d(x, threes.clone()))
    with pytest.raises(ValueError, match="conditional"):
        g(z)


def test_label_code_size_is_embed_dim():
    """`embed_dim` numbers per label are joined to z in G and to the flattened image in D; a bad size says so."""
    g = MLPGenerator(latent_dim=4, channels=1, image_size=28, hidden_sizes=[8], num_classes=10, embed_dim=50)
    d = MLPDiscriminator(channels=1, image_size=28, hidden_sizes=[8], num_classes=10, embed_dim=50)
    assert g.embed.weight.shape == d.embed.weight.shape == (10, 50)
    assert g.net[0].in_features == 4 + 50 and d.net[0].in_features == 784 + 50
    assert g(torch.randn(3, 4), torch.tensor([0, 1, 2])).shape == (3, 1, 28, 28)
    assert d(torch.rand(3, 1, 28, 28), torch.tensor([0, 1, 2])).shape == (3,)
    assert MLPGenerator(latent_dim=4, channels=1, image_size=28, hidden_sizes=[8], num_classes=10).embed.weight.shape \
        == (10, 10)  # default: num_classes numbers, the paper's one-hot size
    with pytest.raises(ConfigError, match="model.discriminator.embed_dim=0"):
        MLPDiscriminator(channels=1, image_size=28, hidden_sizes=[8], num_classes=10, embed_dim=0)


def test_unconditional_networks_are_built_as_before():
    """num_classes=None adds no parameter and draws nothing more at init: "as written" recipes stay the same."""
    torch.manual_seed(0)
    before = MLPGenerator(latent_dim=4, channels=1, image_size=28, hidden_sizes=[8]).state_dict()
    torch.manual_seed(0)
    after = MLPGenerator(latent_dim=4, channels=1, image_size=28, hidden_sizes=[8], num_classes=None).state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_cgan_config_takes_num_classes_from_the_data(make_cfg):
    cfg = make_cfg(*TINY_CGAN)
    assert cfg.model.num_classes == 10 and cfg.model.generator.num_classes == 10
    assert cfg.model.discriminator.num_classes == 10
    assert "num_classes" not in make_cfg("model=vanilla", "data=mnist").model  # unconditional: unchanged recipe


def test_conditional_model_without_labels_says_so(make_cfg):
    import hydra

    model = hydra.utils.instantiate(make_cfg(*TINY_CGAN).model, _convert_="all")
    with pytest.raises(ConfigError, match="no labels"):
        model.condition_from_batch(torch.zeros(2, 1, 28, 28))


def test_class_accuracy_and_intra_fid_on_hand_made_inputs():
    from gan.eval.image import class_accuracy, intra_class_fid

    assert class_accuracy(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 0])) == pytest.approx(2 / 3)
    torch.manual_seed(0)
    real = torch.randn(40, 3)
    labels = torch.arange(40) % 2
    assert intra_class_fid(real, labels, real.clone(), labels) == pytest.approx(0.0, abs=1e-6)
    shifted = real + 5 * (labels == 1).unsqueeze(1)  # class 1 moved by 5 in each of 3 features: FID 75 there
    assert intra_class_fid(real, labels, shifted, labels) == pytest.approx(75 / 2, rel=1e-6)


# ---- conditional DCGAN and labelled image folders --------------------------------------------------
def make_class_folders(root, classes=("cats", "dogs", "owls"), per_class: int = 4):
    """`per_class` small RGB PNGs in each class folder (one nested deeper), plus one loose image at the root."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for name in classes:
        (root / name / "deeper").mkdir(parents=True)
        for i in range(per_class):
            where = root / name / ("deeper" if i == 0 else "")
            Image.fromarray(rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)).save(where / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)).save(root / "loose.png")
    return root


def test_folder_labels_follow_imagefolder(tmp_path):
    from gan.data.image_folder import ImageFolderDataModule

    data = ImageFolderDataModule(str(make_class_folders(tmp_path / "imgs")), image_size=32, batch_size=4,
                                 labels="folders", num_classes=3)
    data.setup()
    images, labels = data.dataset[list(range(len(data.dataset)))]
    assert data.classes == ["cats", "dogs", "owls"] and images.shape == (12, 3, 32, 32)
    assert labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4  # the loose image at the root belongs to no class
    assert not isinstance(ImageFolderDataModule(str(tmp_path / "imgs"), image_size=32).dataset, tuple)


@pytest.mark.parametrize("classes, found", [(("only",), "only the sub-folder 'only'"), ((), "no sub-folder")])
def test_folder_without_classes_says_so(tmp_path, classes, found):
    from gan.data.image_folder import ImageFolderDataModule
    from gan.errors import DataError

    root = make_class_folders(tmp_path / "imgs", classes=classes)
    with pytest.raises(DataError, match=f"has no classes \\({found}"):
        ImageFolderDataModule(str(root), image_size=32, labels="folders", num_classes=2).setup()


def test_folder_num_classes_is_checked(tmp_path):
    from gan.data.image_folder import ImageFolderDataModule

    root = str(make_class_folders(tmp_path / "imgs"))
    with pytest.raises(ConfigError, match="has 3 classes \\(cats, dogs, owls\\).*set data.num_classes=3"):
        ImageFolderDataModule(root, image_size=32, labels="folders", num_classes=2).setup()
    counted = ImageFolderDataModule(root, image_size=32, labels="folders")
    counted.setup()
    assert counted.num_classes == 3  # not given: counted from the class folders


@pytest.mark.parametrize("size", [32, 64, 128])
def test_projection_discriminator_and_conditional_dcgan_generator(size):
    from gan.networks.dcgan import DCGANDiscriminator, DCGANGenerator

    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=8, image_size=size, channels=3, width=2, num_classes=3).eval()
    d = DCGANDiscriminator(image_size=size, channels=3, width=2, num_classes=3, spectral_norm=True).eval()
    z, a, b = torch.randn(2, 8), torch.tensor([0, 0]), torch.tensor([2, 2])
    assert g(z, a).shape == (2, 3, size, size) and not torch.allclose(g(z, a), g(z, b))
    x = torch.rand(2, 3, size, size) * 2 - 1
    assert d(x, a).shape == (2,) and not torch.allclose(d(x, a), d(x, b))
    assert torch.equal(d(x, a), d(x, a.clone()))


@pytest.mark.parametrize("size", [32, 64])
def test_conditional_batchnorm_generator_uses_the_label_and_only_the_label(size):
    from gan.networks.conditional import ConditionalBatchNorm2d
    from gan.networks.dcgan import DCGANGenerator

    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=8, image_size=size, channels=1, width=2, num_classes=3, conditioning="cbn")
    norms = [m for m in g.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert norms and g.embed is None and not any(isinstance(m, torch.nn.BatchNorm2d) for m in g.net)
    assert g.net[0].in_channels == 8  # z alone: the label enters through the norms, not the input
    for norm in norms:  # trained-looking per-class scales and shifts (they start as the identity for every class)
        torch.nn.init.normal_(norm.scale.weight, 1.0, 0.5)
        torch.nn.init.normal_(norm.shift.weight, 0.0, 0.5)
    g.eval()
    z, a, b = torch.randn(2, 8), torch.tensor([0, 0]), torch.tensor([2, 2])
    assert g(z, a).shape == (2, 1, size, size) and not torch.allclose(g(z, a), g(z, b))
    assert torch.equal(g(z, a), g(z, a.clone()))
    with pytest.raises(ValueError, match="conditional"):
        g(z)
    with pytest.raises(ConfigError, match="conditioning='film' is not one of: concat, cbn"):
        DCGANGenerator(latent_dim=8, image_size=32, width=2, num_classes=3, conditioning="film")


def test_unconditional_dcgan_generator_ignores_the_conditioning_option():
    from gan.networks.dcgan import DCGANGenerator

    torch.manual_seed(0)
    before = DCGANGenerator(latent_dim=8, image_size=32, width=2).state_dict()
    torch.manual_seed(0)
    after = DCGANGenerator(latent_dim=8, image_size=32, width=2, conditioning="cbn").state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_mnist_at_32_px_is_padded_and_judged_by_the_28_px_classifier(tiny_mnist):
    from gan.data.mnist import MNISTDataModule
    from gan.eval.image import ClassifierFeatures
    from gan.features import Classifier

    data = MNISTDataModule(tiny_mnist, image_size=32, batch_size=8)
    data.setup("fit")
    images, labels = next(iter(data.train_dataloader()))
    assert images.shape == (8, 1, 32, 32) and labels.shape == (8,)
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (images[:, :, border] == -1).all() and data.train_images.shape[-1] == 28  # stored unpadded
    features = ClassifierFeatures(Classifier(), image_shape=(1, 28, 28))
    assert torch.equal(features(images), features(images[..., 2:30, 2:30]))
    with pytest.raises(ConfigError, match="or 32: padded"):
        MNISTDataModule(tiny_mnist, image_size=64)


def test_conditional_dcgan_on_unlabelled_data_says_so(make_cfg, tmp_path):
    import hydra

    cfg = make_cfg("model=dcgan", "model.conditional=true", "data=image_folder", f"data.root={tmp_path}")
    with pytest.raises(Exception, match="model.conditional=true, but the data have no classes"):
        hydra.utils.instantiate(cfg.model, _convert_="all")


# ---- InfoGAN --------------------------------------------------------------------------------------------
TINY_INFOGAN = ["model=infogan", "data=mnist", "data.batch_size=8", "model.generator.width=4", "model.generator.hidden=8",
                "model.discriminator.width=4", "model.discriminator.hidden=8", "model.discriminator.q_hidden=8",
                "model.generator.latent_dim=16", "model.eval_samples=40", "logger=none",
                "+eval.feature_build.min_accuracy=0"]  # random labels: a chance-level classifier


def test_matched_accuracy_finds_the_best_one_to_one_matching():
    from gan.eval.image import matched_accuracy

    classes = torch.tensor([0, 0, 1, 1, 2, 2])
    assert matched_accuracy((classes + 1) % 3, classes, 3) == 1.0  # renamed codes are still perfect
    assert matched_accuracy(torch.tensor([0, 0, 0, 0, 0, 0]), classes, 3) == pytest.approx(2 / 6)


def test_infogan_noise_codes_and_q_head(make_cfg, tiny_mnist):
    import hydra

    model = hydra.utils.instantiate(make_cfg(*TINY_INFOGAN, data_dir=tiny_mnist).model, _convert_="all")
    noise = model.sample_noise(5)
    assert noise.shape == (5, 16) and model.noise_dim == 4
    assert torch.equal(noise[:, 4:14].sum(1), torch.ones(5)) and noise[:, 14:].abs().max() <= 1
    fours = model.with_codes(noise, categorical=4)
    assert model.categorical_code(fours).tolist() == [4] * 5 and torch.equal(fours[:, :4], noise[:, :4])
    logits, continuous = model.discriminator.codes(model.generator(noise))
    assert logits.shape == (5, 10) and continuous.shape == (5, 2)
    loss, logged = model.code_loss(model.generator(noise), noise)
    assert loss.ndim == 0 and math.isfinite(loss.item()) and set(logged) == {"info_categorical", "info_continuous"}
    grid, labels, nrow = model.grid_inputs(64)
    assert labels is None and nrow == 6 and grid.shape == (60, 16)
    assert model.categorical_code(grid).tolist() == [k for k in range(10) for _ in range(6)]
    assert grid[:6, 14].tolist() == pytest.approx(torch.linspace(-1, 1, 6).tolist()) and not grid[:, 15].any()


def test_infogan_networks_are_the_papers_and_q_shares_ds_body():
    from gan.networks.infogan import InfoGANDiscriminator, InfoGANGenerator

    g, d = InfoGANGenerator(latent_dim=74), InfoGANDiscriminator(categorical=10, continuous=2)
    widths = [(m.in_features, m.out_features) for m in g.fc if isinstance(m, torch.nn.Linear)]
    assert widths == [(74, 1024), (1024, 7 * 7 * 128)]
    assert [m.out_channels for m in g.deconv if isinstance(m, torch.nn.ConvTranspose2d)] == [64, 1]
    assert [m.out_channels for m in d.body if isinstance(m, torch.nn.Conv2d)] == [64, 128]
    assert [(m.in_features, m.out_features) for m in d.body if isinstance(m, torch.nn.Linear)] == [(7 * 7 * 128, 1024)]
    assert [m.out_features for m in d.q_head if isinstance(m, torch.nn.Linear)] == [128, 12]
    calls = []
    d.body.register_forward_hook(lambda *_: calls.append(1))
    x = g(torch.randn(4, 74))
    assert x.shape == (4, 1, 28, 28) and d(x).shape == (4,)
    logits, continuous = d.codes(x)  # the same fakes in the same update: the body is not run again
    assert logits.shape == (4, 10) and continuous.shape == (4, 2) and len(calls) == 1
    d.codes(x.detach())  # other inputs: run again
    assert len(calls) == 2
    with pytest.raises(ConfigError, match="multiple of 4"):
        InfoGANGenerator(image_size=30)


def test_model_and_mnist_hparams_merge_for_loggers(make_cfg, tiny_mnist):
    """Lightning merges the model's and the datamodule's hparams for loggers and refuses differing values of a key."""
    import hydra

    for overrides in ([], ["model.num_classes=null"]):
        cfg = make_cfg(*TINY_CGAN, *overrides, data_dir=tiny_mnist)
        model = hydra.utils.instantiate(cfg.model, _convert_="all")
        data = hydra.utils.instantiate(cfg.data, _convert_="all")
        shared = set(model.hparams) & set(data.hparams)
        assert all(model.hparams[k] == data.hparams[k] for k in shared), shared
