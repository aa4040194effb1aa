"""The one loop with the loss family: who is updated when, which slice each D update sees, and a smoke run of
every loss with every regulariser on the Gaussian GAN and the MNIST MLP GAN."""

import math
from types import SimpleNamespace

import hydra
import pytest
import pytorch_lightning as pl
import torch

from hydra.errors import HydraException

from gan.callbacks import describe_discriminator
from gan.callbacks.images import SampleGrid
from gan.errors import ConfigError
from gan.losses import LOSSES
from gan.models.gan import GAN
from gan.networks.mlp import MLPDiscriminator, MLPGenerator
from gan.run import train
from gan.sampling import seeded_noise
from tests.test_mnist import random_mnist

GAUSSIAN_TINY = ["data.sample_size=20", "data.sets_per_update=2", "model.eval_samples=50", "logger=none"]
MLP_TINY = ["model=vanilla", "data=mnist", "data.batch_size=8", "model.generator.hidden_sizes=[8]",
            "model.discriminator.hidden_sizes=[8]", "model.generator.latent_dim=4", "model.eval_samples=10", "logger=none"]
REGULARISERS = {
    "plain": [],
    "spectral_norm": ["model.discriminator.spectral_norm=true"],
    "gradient_penalty": ["model.gradient_penalty=10"],
    "r1": ["model.r1_gamma=1"],
    "augment": ["model.augment=[translation,cutout,color]"],
}


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """MNIST's raw layout with 40 training and 10 test images: the MLP GAN's smoke runs need no 60,000."""
    return random_mnist(tmp_path_factory.mktemp("tiny_mnist"), n_train=40, n_test=10)


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_each_player_moves_only_in_its_own_update_and_each_d_update_has_its_slice(make_cfg):
    cfg = make_cfg(*GAUSSIAN_TINY, "model.d_steps=3", "model.g_steps=2", "model.ema_decay=null")
    pl.seed_everything(0)
    model = hydra.utils.instantiate(cfg.model, _convert_="all")
    datamodule = hydra.utils.instantiate(cfg.data, _convert_="all")
    batches, slices, moved = [], [], []
    real_from_batch, d_loss, d_step, g_step = model.real_from_batch, model.loss.d_loss, model._d_step, model._g_step

    def watch(step, name):
        def wrapped(*args, **kwargs):
            g_before, d_before = _state(model.generator), _state(model.discriminator)
            out = step(*args, **kwargs)
            moved.append((name, not _same(g_before, _state(model.generator)), not _same(d_before, _state(model.discriminator))))
            return out
        return wrapped

    model.real_from_batch = lambda batch: batches.append(real_from_batch(batch)) or batches[-1]
    model.loss.d_loss = lambda d, real, *args: slices.append(real) or d_loss(d, real, *args)
    model._d_step, model._g_step = watch(d_step, "D"), watch(g_step, "G")
    pl.Trainer(fast_dev_run=1, logger=False, enable_progress_bar=False, callbacks=[]).fit(model, datamodule=datamodule)

    # (name, G moved, D moved) per update: 3 D updates then 2 G updates, each moving only its own player.
    assert moved == [("D", False, True)] * 3 + [("G", True, False)] * 2
    (batch,) = batches
    assert [len(s) for s in slices] == [2, 2, 2] and torch.equal(torch.cat(slices), batch)
    assert not torch.equal(slices[0], slices[1])


@pytest.mark.parametrize("batch, d_steps, sizes", [(100, 11, [10] + [9] * 10), (6, 3, [2, 2, 2])])
def test_split_gives_exactly_d_steps_slices(make_cfg, batch, d_steps, sizes):
    model = hydra.utils.instantiate(make_cfg(*GAUSSIAN_TINY, f"model.d_steps={d_steps}").model, _convert_="all")
    slices = model._split(torch.arange(batch))
    assert [len(s) for s in slices] == sizes and torch.equal(torch.cat(slices), torch.arange(batch))  # chunk gave 10


def test_a_batch_smaller_than_d_steps_is_refused(make_cfg):
    model = hydra.utils.instantiate(make_cfg(*GAUSSIAN_TINY, "model.d_steps=5").model, _convert_="all")
    with pytest.raises(ConfigError, match="a batch of 3 cannot feed model.d_steps=5"):
        model._split(torch.zeros(3, 20))


def _config_error(cfg) -> str:
    """The ConfigError building the model raises (Hydra wraps it; `gan.run` prints the cause alone)."""
    with pytest.raises(HydraException) as raised:
        hydra.utils.instantiate(cfg.model, _convert_="all")
    assert isinstance(raised.value.__cause__, ConfigError)
    return str(raised.value.__cause__)


def test_augment_on_numbers_is_refused(make_cfg):
    assert "DiffAugment transforms images" in _config_error(make_cfg("model.augment=translation"))


def test_penalty_on_the_seed_dcgan_critic_names_the_fix(make_cfg, tmp_path):
    cfg = make_cfg("model=dcgan", "data=image_folder", "model.gradient_penalty=10", data_dir=tmp_path)
    assert "set model.discriminator.norm=none" in _config_error(cfg)
    cfg = make_cfg("model=dcgan", "data=image_folder", "model.gradient_penalty=10", "model.discriminator.norm=layer",
                   data_dir=tmp_path)
    assert hydra.utils.instantiate(cfg.model, _convert_="all").loss.gp_weight == 10


def _finite(metrics: dict, *keys: str) -> bool:
    return all(math.isfinite(metrics[key]) for key in keys)


def _display_keys(loss: str) -> tuple[str, ...]:
    if loss in ("bce", "minimax"):
        return "train/d_real", "train/d_fake"
    return ("train/score_real", "train/score_fake") + (("train/wasserstein",) if loss != "lsgan" else ())


@pytest.mark.parametrize("regulariser", [r for r in REGULARISERS if r != "augment"])
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_fast_dev_run_gaussian(make_cfg, capsys, loss, regulariser):
    # The default Gaussian recipe has a gradient penalty; each case starts from none and adds its own regulariser.
    metrics = train(make_cfg(f"model.loss={loss}", "model.gradient_penalty=0", *REGULARISERS[regulariser],
                             *GAUSSIAN_TINY, "trainer.fast_dev_run=true"))
    assert _finite(metrics, "train/d_loss", "train/g_loss", *_display_keys(loss))
    status = capsys.readouterr().out  # the original's status line, after the one validation
    assert ("D(x) " in status) == (loss in ("bce", "minimax")) and ("W estimate " in status) == (loss in ("wgan", "hinge"))
    assert ("train/gp" in metrics) == (regulariser == "gradient_penalty")
    assert ("train/r1" in metrics) == (regulariser == "r1")


@pytest.mark.parametrize("regulariser", sorted(REGULARISERS))
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_fast_dev_run_mnist_mlp(make_cfg, tiny_mnist, loss, regulariser):
    cfg = make_cfg(f"model.loss={loss}", *REGULARISERS[regulariser], *MLP_TINY, "trainer.fast_dev_run=true",
                   data_dir=tiny_mnist)
    metrics = train(cfg)
    assert _finite(metrics, "train/d_loss", "train/g_loss", *_display_keys(loss))
    assert ("train/gp" in metrics) == (regulariser == "gradient_penalty")


@pytest.mark.parametrize("override", ["model.augment=[translation,cutout]", 'model.augment="translation,cutout"'])
def test_augment_list_and_quoted_string_give_one_policy(make_cfg, tmp_path, override):
    model = hydra.utils.instantiate(make_cfg("model=vanilla", "data=mnist", override, data_dir=tmp_path).model,
                                    _convert_="all")
    assert model.loss.augment.policy == ("translation", "cutout")


# ---- what callbacks and gan.sample ask the model ----------------------------------------------------
def test_status_lines_show_what_the_loss_means():
    probabilities = {"train/d_real": torch.tensor(0.7), "train/d_fake": torch.tensor(0.2)}
    assert describe_discriminator(probabilities) == "D(x): 0.7000, D(G(z)): 0.2000"
    critic = {"train/score_real": torch.tensor(1.5), "train/score_fake": torch.tensor(-0.5),
              "train/wasserstein": torch.tensor(2.0)}
    assert describe_discriminator(critic) == "score(x): 1.5000, score(G(z)): -0.5000, W estimate: 2.0000"


def test_the_mnist_status_line_of_a_critic_shows_scores(make_cfg, tiny_mnist, capsys):
    cfg = make_cfg("experiment=mnist_seed", *MLP_TINY, "model.loss=wgan", "model.gradient_penalty=10",
                   "trainer.max_steps=1", "+model.feature_build.min_accuracy=0", data_dir=tiny_mnist)
    train(cfg)
    out = capsys.readouterr().out
    assert "score(x): " in out and "W estimate: " in out and "D(x)" not in out


class _NewImageVariant(GAN):
    """A variant the callbacks have never heard of: it only says that it draws images."""

    sample_kind = "images"


def test_a_new_variant_gets_sample_grids_without_a_callback_edit(tmp_path):
    model = _NewImageVariant(MLPGenerator(4, 1, 8, [8]), MLPDiscriminator(1, 8, [8]), torch.optim.Adam, torch.optim.Adam,
                             g_lr=1e-3, d_lr=1e-3, latent_shape=[4], num_fixed=4)
    trainer = SimpleNamespace(default_root_dir=str(tmp_path), loggers=[])
    path = SampleGrid(num_samples=4, nrow=2).save(trainer, model, index=1, tb_step=0)
    assert path.is_file()


def test_noise_is_drawn_in_one_place_and_seeded_as_before(make_cfg):
    model = hydra.utils.instantiate(make_cfg(*GAUSSIAN_TINY).model, _convert_="all")
    before = torch.rand((3, *model.hparams.latent_shape), generator=torch.Generator().manual_seed(5))  # the old seeded_noise
    torch.testing.assert_close(seeded_noise(model, 3, 5), before, rtol=0, atol=0)
    draws = model.draw(7, seed=2)
    old_draw = model.generate(noise=torch.rand((1, 7, 1), generator=torch.Generator().manual_seed(2))).flatten()
    torch.testing.assert_close(draws, old_draw, rtol=0, atol=0)


def test_models_do_not_import_callbacks():
    """Callbacks act on models; a model never needs the callbacks package (no import cycle between them)."""
    import subprocess
    import sys

    code = ("import sys, gan.models.gan, gan.models.mixture, gan.models.schedule; "
            "print(sorted(m for m in sys.modules if m.startswith('gan.callbacks')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
