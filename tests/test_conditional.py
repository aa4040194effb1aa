"""Conditional GANs: labels through the loop to G(z, c) and D(x, c), the cgan config, per-class grids and
`gan.sample --label / --per-class`."""

import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from gan.callbacks.images import SampleGrid
from gan.errors import ConfigError
from gan.networks.mlp import MLPDiscriminator, MLPGenerator
from gan.run import train
from gan.sample import main as sample_main
from tests.conftest import compose_config
from tests.test_mnist import random_mnist

TINY_CGAN = ["model=cgan", "data=mnist", "data.batch_size=8", "model.generator.hidden_sizes=[8]",
             "model.discriminator.hidden_sizes=[8]", "model.generator.latent_dim=4", "model.eval_samples=40",
             "logger=none", "+model.feature_build.min_accuracy=0"]  # random labels: a chance-level classifier


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """MNIST's raw layout with 40 training and 40 test images (random pixels, random labels)."""
    return random_mnist(tmp_path_factory.mktemp("tiny_mnist"), n_train=40, n_test=40)


def two_step_run(overrides: list[str], tmp: Path, data_dir: Path) -> Path:
    """Two training steps of a tiny model, with its checkpoint: a run folder for a module's read-only tests."""
    train(compose_config([*overrides, "trainer.max_steps=2"], tmp / "run", data_dir=data_dir))
    GlobalHydra.instance().clear()
    return tmp / "run"


@pytest.fixture(scope="module")
def cgan_run(tiny_mnist, tmp_path_factory):
    """Two training steps of a narrow cgan, with its checkpoint (read only for this module's tests)."""
    return two_step_run(TINY_CGAN, tmp_path_factory.mktemp("cgan"), tiny_mnist)


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


def test_labels_reach_g_and_d_in_the_loop(make_cfg, tiny_mnist):
    """The loop hands each batch's labels to G and D of a conditional model, and none to an unconditional one."""
    import hydra

    seen = {"g": [], "d": []}
    cfg = make_cfg(*TINY_CGAN, data_dir=tiny_mnist)
    model = hydra.utils.instantiate(cfg.model, _convert_="all")
    for name, net in (("g", model.generator), ("d", model.discriminator)):
        net.register_forward_hook(lambda m, args, out, name=name: seen[name].append(args[1] if len(args) > 1 else None))
    import pytorch_lightning as pl

    datamodule = hydra.utils.instantiate(cfg.data, _convert_="all")
    pl.Trainer(fast_dev_run=1, logger=False, enable_progress_bar=False, callbacks=[]).fit(model, datamodule=datamodule)
    assert seen["g"] and all(c is not None and c.shape == (8,) for c in seen["g"])
    # D's update scores [real; fake] in one pass (docs/speed.md): its labels then come twice, [c; c].
    assert seen["d"] and all(c is not None and c.shape in ((8,), (16,)) for c in seen["d"])
    assert all(torch.equal(c[:8], c[8:]) for c in seen["d"] if len(c) == 16)
    first_labels = datamodule.train_labels  # the labels in the data, not made up
    assert set(torch.cat(seen["d"]).tolist()) <= set(first_labels.tolist())

    vanilla = hydra.utils.instantiate(make_cfg(*TINY_CGAN, "model.num_classes=null", data_dir=tiny_mnist).model,
                                      _convert_="all")
    assert vanilla.condition_from_batch((torch.zeros(2, 1, 28, 28), torch.tensor([1, 2]))) is None


def test_conditional_model_without_labels_says_so(make_cfg):
    import hydra

    model = hydra.utils.instantiate(make_cfg(*TINY_CGAN).model, _convert_="all")
    with pytest.raises(ConfigError, match="no labels"):
        model.condition_from_batch(torch.zeros(2, 1, 28, 28))


def test_fixed_grid_has_one_row_per_class(cgan_run, tmp_path):
    from gan.checkpoint import load_model

    model, _ = load_model(cgan_run)
    noise, labels, nrow = model.grid_inputs(64)
    assert nrow == 6 and labels.tolist() == [k for k in range(10) for _ in range(6)]
    assert torch.equal(noise[:6], noise[6:12])  # the same noise down each column
    with Image.open(next((cgan_run / "samples").glob("*.png"))) as grid:  # written by SampleGrid during training
        assert grid.size == (6 * 28 + 7 * 2, 10 * 28 + 11 * 2)


def test_sample_label_and_per_class(cgan_run, tmp_path):
    sample_main([str(cgan_run), "--label", "3", "-n", "5", "--out", str(tmp_path / "three")])
    assert torch.load(tmp_path / "three" / "labels.pt", weights_only=True).tolist() == [3] * 5
    assert torch.load(tmp_path / "three" / "samples.pt", weights_only=True).shape == (5, 1, 28, 28)
    sample_main([str(cgan_run), "--per-class", "2", "--out", str(tmp_path / "each")])
    assert torch.load(tmp_path / "each" / "labels.pt", weights_only=True).tolist() == [k for k in range(10) for _ in (0, 1)]
    assert len(list((tmp_path / "each" / "images").iterdir())) == 20
    with Image.open(tmp_path / "each" / "grid.png") as grid:
        assert grid.size == (2 * 28 + 3 * 2, 10 * 28 + 11 * 2)  # one row per class


def test_grid_shows_at_most_100_images(cgan_run, tmp_path):
    sample_main([str(cgan_run), "-n", "150", "--out", str(tmp_path / "many")])
    assert len(list((tmp_path / "many" / "images").iterdir())) == 150
    assert torch.load(tmp_path / "many" / "samples.pt", weights_only=True).shape[0] == 150
    with Image.open(tmp_path / "many" / "grid.png") as grid:
        assert grid.size == (10 * 28 + 11 * 2, 10 * 28 + 11 * 2)


@pytest.mark.parametrize("args, message", [
    (["--label", "10"], "label 10 is out of range; this model has classes 0..9"),
    (["--label", "-1"], "label -1 is out of range"),
    (["--per-class", "0"], "--per-class 0"),
    (["--label", "1", "--per-class", "2"], "either"),
])
def test_bad_labels_fail_clearly(cgan_run, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit, match="error: .*" + message):
        sample_main([str(cgan_run), *args, "--out", str(tmp_path / "bad")])


def test_label_on_an_unconditional_model_fails_clearly(tiny_mnist, tmp_path):
    train(compose_config([*TINY_CGAN, "model.num_classes=null", "trainer.max_steps=1"], tmp_path / "run",
                         data_dir=tiny_mnist))
    GlobalHydra.instance().clear()
    with pytest.raises(SystemExit, match="error: --label: this model is not conditional"):
        sample_main([str(tmp_path / "run"), "--label", "3", "--out", str(tmp_path / "bad")])
    sample_main([str(tmp_path / "run"), "-n", "4", "--out", str(tmp_path / "ok")])  # no labels.pt for it
    assert not (tmp_path / "ok" / "labels.pt").exists()


def test_class_accuracy_and_intra_fid_on_hand_made_inputs():
    from gan.metrics.image import class_accuracy, intra_class_fid

    assert class_accuracy(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 0])) == pytest.approx(2 / 3)
    torch.manual_seed(0)
    real = torch.randn(40, 3)
    labels = torch.arange(40) % 2
    assert intra_class_fid(real, labels, real.clone(), labels) == pytest.approx(0.0, abs=1e-6)
    shifted = real + 5 * (labels == 1).unsqueeze(1)  # class 1 moved by 5 in each of 3 features: FID 75 there
    assert intra_class_fid(real, labels, shifted, labels) == pytest.approx(75 / 2, rel=1e-6)


def test_conditional_figures_in_metrics_json_and_gan_evaluate(cgan_run, tmp_path):
    import json

    from gan.evaluate import main as evaluate_main

    metrics = json.loads((cgan_run / "metrics.json").read_text())
    assert 0.0 <= metrics["class_accuracy"] <= 1.0 and math.isfinite(metrics["intra_fid"])
    evaluate_main([str(cgan_run), "--samples", "40", "--cache-dir", str(cgan_run.parent / "cache")])
    report = json.loads(next(cgan_run.rglob("evaluation*.json")).read_text())
    assert "class_accuracy" in json.dumps(report) and "intra_fid" in json.dumps(report)


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


def test_fast_dev_run_conditional_dcgan_on_a_labelled_folder(make_cfg, tmp_path):
    root = make_class_folders(tmp_path / "imgs")
    cfg = make_cfg("model=dcgan", "model.conditional=true", "model.generator.width=4", "model.discriminator.width=4",
                   "logger=none", "data=image_folder", f"data.root={root}", "data.labels=folders", "data.num_classes=3",
                   "data.image_size=32", "data.batch_size=4", "trainer.fast_dev_run=true")
    assert cfg.model.num_classes == 3 and cfg.model.discriminator.num_classes == 3
    metrics = train(cfg)
    assert math.isfinite(metrics["train/d_loss"]) and math.isfinite(metrics["train/g_loss"])


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
    from gan.metrics.image import ClassifierFeatures
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


def test_fast_dev_run_conditional_dcgan_on_mnist_at_32_px(make_cfg, tiny_mnist):
    for conditioning in ("concat", "cbn"):
        cfg = make_cfg("model=dcgan", "model.conditional=true", "data=mnist", "data.image_size=32", "data.batch_size=4",
                       "model.generator.width=4", "model.discriminator.width=4", "logger=none",
                       f"model.generator.conditioning={conditioning}", "trainer.fast_dev_run=true", data_dir=tiny_mnist)
        metrics = train(cfg)
        assert math.isfinite(metrics["train/d_loss"]) and math.isfinite(metrics["train/g_loss"]), conditioning
        GlobalHydra.instance().clear()


def test_fast_dev_run_the_conditional_dcgan_recipe(make_cfg, tiny_mnist):
    """experiment=cdcgan: conditional BatchNorm in G, a spectrally normalised projection D without BatchNorm, hinge."""
    cfg = make_cfg("experiment=cdcgan", "data.batch_size=4", "model.generator.width=4", "model.discriminator.width=4",
                   "logger=none", "trainer.fast_dev_run=true", data_dir=tiny_mnist)
    assert cfg.model.num_classes == 10 and cfg.model.generator.conditioning == "cbn" and cfg.model.loss == "hinge"
    assert cfg.model.discriminator.norm == "none" and cfg.model.discriminator.spectral_norm
    metrics = train(cfg)
    assert math.isfinite(metrics["train/d_loss"]) and math.isfinite(metrics["train/g_loss"])


def test_conditional_dcgan_on_unlabelled_data_says_so(make_cfg, tmp_path):
    import hydra

    cfg = make_cfg("model=dcgan", "model.conditional=true", "data=image_folder", f"data.root={tmp_path}")
    with pytest.raises(Exception, match="model.conditional=true, but the data have no classes"):
        hydra.utils.instantiate(cfg.model, _convert_="all")


# ---- a real run ---------------------------------------------------------------------------------------
class CPUBudget:
    """Stops training once the process has used `seconds` of CPU time (all threads) since training started;
    keeps what it measured in `CPUBudget.last` for the test to read."""

    last: dict = {}

    def __new__(cls, seconds: float):
        import pytorch_lightning as pl

        class _Budget(pl.Callback):
            def on_train_start(self, trainer, pl_module):
                self.start = time.process_time()

            def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
                used = time.process_time() - self.start
                CPUBudget.last.update(cpu_s=used, steps=pl_module.training_steps_done, epoch=trainer.current_epoch)
                if used >= seconds:
                    trainer.should_stop = True

        return _Budget()


# The cgan recipe's narrower MLPs and DCGAN's Adam betas, for the unconditional vanilla GAN it is compared with
# (measured by CPU-second budgets, docs/conditional.md); model=cgan has them in conf/model/cgan.yaml.
FAST_CGAN = ["model.generator.hidden_sizes=[128,256,512]", "model.discriminator.hidden_sizes=[512,256,128]",
             "model.g_optimizer.betas=[0.5,0.999]", "model.d_optimizer.betas=[0.5,0.999]", "data.batch_size=64"]


@pytest.mark.slow
@pytest.mark.long  # 3 CPU-minutes by design: outside the default run, `pytest -m long` runs it
def test_cgan_on_mnist_reaches_class_accuracy_in_three_cpu_minutes(make_cfg):
    """model=cgan as configured, batch 64 as its docs say. Training alone gets 180 CPU seconds (one thread; no
    evaluation during it); the classifier it is judged by is built first (10,000 training images, 2 epochs) and its
    cost is not counted. Judged on 2,000 samples, at the end of the run."""
    cfg = make_cfg("model=cgan", "data=mnist", "data.batch_size=64", "logger=none", "trainer.max_epochs=100",
                   "model.feature_build.max_samples=10000", "model.feature_build.epochs=2", "model.eval_samples=2000",
                   "callbacks.sample_quality.every_n_epochs=1000", "model.monitor=null",
                   "+callbacks.cpu_budget._target_=tests.test_conditional.CPUBudget",
                   "+callbacks.cpu_budget.seconds=180")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on a loaded 2-core machine a second thread mostly spins: CPU time without steps
    try:
        metrics = train(cfg)
    finally:
        torch.set_num_threads(threads)
    print(f"cgan on MNIST: {CPUBudget.last} -> class_accuracy {metrics['class_accuracy']:.3f}, "
          f"fid {metrics['fid']:.2f}, intra_fid {metrics['intra_fid']:.2f}")
    assert CPUBudget.last["cpu_s"] < 180 + 5  # stopped on budget (one step past it at most)
    assert metrics["class_accuracy"] >= 0.8


# ---- InfoGAN --------------------------------------------------------------------------------------------
TINY_INFOGAN = ["model=infogan", "data=mnist", "data.batch_size=8", "model.generator.width=4", "model.generator.hidden=8",
                "model.discriminator.width=4", "model.discriminator.hidden=8", "model.discriminator.q_hidden=8",
                "model.generator.latent_dim=16", "model.eval_samples=40", "logger=none",
                "+model.feature_build.min_accuracy=0"]  # random labels: a chance-level classifier


def test_matched_accuracy_finds_the_best_one_to_one_matching():
    from gan.metrics.image import matched_accuracy

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


def test_fast_dev_run_infogan_trains_q_with_both_players(make_cfg, tiny_mnist):
    cfg = make_cfg(*TINY_INFOGAN, "trainer.fast_dev_run=true", data_dir=tiny_mnist)
    metrics = train(cfg)
    for key in ("train/d_loss", "train/g_loss", "train/d_info_categorical", "train/g_info_categorical"):
        assert math.isfinite(metrics[key]), key


@pytest.fixture(scope="module")
def infogan_run(tiny_mnist, tmp_path_factory):
    return two_step_run(TINY_INFOGAN, tmp_path_factory.mktemp("infogan"), tiny_mnist)


def test_infogan_figures_and_sample_code_and_vary(infogan_run, tmp_path):
    import json

    metrics = json.loads((infogan_run / "metrics.json").read_text())
    assert 0.0 <= metrics["code_accuracy"] <= 1.0 and "class_accuracy" not in metrics  # no labels asked for
    sample_main([str(infogan_run), "-n", "3", "--code", "4", "--vary", "c2", "--out", str(tmp_path / "s")])
    swept = torch.load(tmp_path / "s" / "vary-c2.pt", weights_only=True)
    assert swept.shape == (100, 1, 28, 28)  # 10 codes x 10 values of c2
    with Image.open(tmp_path / "s" / "vary-c2.png") as grid:
        assert grid.size == (10 * 28 + 11 * 2, 10 * 28 + 11 * 2)
    assert torch.load(tmp_path / "s" / "samples.pt", weights_only=True).shape == (3, 1, 28, 28)
    for args, message in ((["--vary", "c3"], "continuous codes are c1, c2"), (["--code", "10"], "takes 0..9"),
                          (["--label", "1"], "not conditional")):
        with pytest.raises(SystemExit, match=message):
            sample_main([str(infogan_run), *args, "--out", str(tmp_path / "bad")])


def test_code_options_on_a_model_without_codes(cgan_run, tmp_path):
    with pytest.raises(SystemExit, match="--vary: this model has no latent codes"):
        sample_main([str(cgan_run), "--vary", "c1", "--out", str(tmp_path / "bad")])


def test_model_and_mnist_hparams_merge_for_loggers(make_cfg, tiny_mnist):
    """Lightning merges the model's and the datamodule's hparams for loggers and refuses differing values of a key."""
    import hydra

    for overrides in ([], ["model.num_classes=null"]):
        cfg = make_cfg(*TINY_CGAN, *overrides, data_dir=tiny_mnist)
        model = hydra.utils.instantiate(cfg.model, _convert_="all")
        data = hydra.utils.instantiate(cfg.data, _convert_="all")
        shared = set(model.hparams) & set(data.hparams)
        assert all(model.hparams[k] == data.hparams[k] for k in shared), shared
