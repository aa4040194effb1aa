"""The one loop with the loss family: who is updated when, which slice each D update sees, and a smoke run of
every loss with every regulariser on the Gaussian GAN and the MNIST MLP GAN."""

import math

import hydra
import pytest
import pytorch_lightning as pl
import torch

from gan.losses import LOSSES
from gan.run import train
from tests.unit.test_game_loop import GAUSSIAN_TINY
from tests.unit.test_mnist import random_mnist

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


def test_the_mnist_status_line_of_a_critic_shows_scores(make_cfg, tiny_mnist, capsys):
    cfg = make_cfg("experiment=mnist_seed", *MLP_TINY, "model.loss=wgan", "model.gradient_penalty=10",
                   "trainer.max_steps=1", "+eval.feature_build.min_accuracy=0", data_dir=tiny_mnist)
    train(cfg)
    out = capsys.readouterr().out
    assert "score(x): " in out and "W estimate: " in out and "D(x)" not in out
