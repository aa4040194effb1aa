"""The 1-D Gaussian GAN trained: each preprocess, what a run writes, the rate decay, and that it really learns
N(4, 1.25)."""

import json

import numpy as np
import pytest
import torch

from gan.networks.gaussian import PREPROCESS
from gan.run import train


def test_lr_decay_reaches_the_optimizers(make_cfg, tmp_path):
    """4 training steps, decay from half way: the last step runs at (4 - 3) / 2 = 1/2 of each rate."""
    cfg = make_cfg("logger=none", "trainer.max_steps=4", "model.lr_decay_start=0.5", "model.g_lr=1e-3",
                   "model.d_lr=2e-3", "data.sample_size=50", "model.eval_samples=100")
    train(cfg)
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    rates = [group["lr"] for state in checkpoint["optimizer_states"] for group in state["param_groups"]]
    assert rates == pytest.approx([1e-3, 5e-4])  # (D, G)


@pytest.mark.parametrize("mode", sorted(PREPROCESS))
def test_fast_dev_run_each_preprocess(make_cfg, tmp_path, mode):
    cfg = make_cfg(f"model.discriminator.preprocess={mode}", "trainer.fast_dev_run=true")
    metrics = train(cfg)
    assert np.isfinite(metrics["train/d_loss"]) and np.isfinite(metrics["train/g_loss"])
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_default_run_writes_everything(make_cfg, tmp_path):
    cfg = make_cfg("trainer.max_epochs=2", "data.steps_per_epoch=20")
    metrics = train(cfg)
    run = tmp_path / "run"
    for name in ("config.yaml", "metrics.json", "histogram.png", "checkpoints/last.ckpt"):
        assert (run / name).is_file(), name
    assert list(run.glob("events.out.tfevents.*")), "no TensorBoard events"
    saved = json.loads((run / "metrics.json").read_text())
    for key in ("gen_mean", "gen_std", "gen_skew", "gen_kurtosis", "train_time_s", "train_cpu_s", "ks", "w1"):
        assert np.isfinite(saved[key]), key
    assert saved["training_steps"] == 40 == metrics["training_steps"]


def test_max_steps_counts_training_steps(make_cfg):
    cfg = make_cfg("trainer.max_steps=7", "model.d_steps=3", "model.g_steps=2")
    assert train(cfg)["training_steps"] == 7


@pytest.mark.slow
def test_default_recipe_learns_the_target(make_cfg):
    """`python -m gan.run` as it is (1,500 training steps on sets of 1,000 draws, seed 1234) ends at N(4, 1.25),
    shape included.

    The end state on 10,000 fresh draws: moments within 0.05 and KS at most 0.05; its tails on 1,000,000 more
    (docs/gaussian.md).
    """
    cfg = make_cfg("logger=none")
    assert cfg.seed == 1234 and cfg.trainer.max_epochs * cfg.data.steps_per_epoch == 1500
    assert cfg.data.sample_size == 1000
    assert (cfg.model.loss, cfg.model.gradient_penalty, cfg.model.discriminator.preprocess) == ("wgan", 10, "sorted")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # networks of 5 and 10 units: a second thread only waits, or worse on a busy machine
    try:
        metrics = train(cfg)
    finally:
        torch.set_num_threads(threads)
    assert abs(metrics["gen_mean"] - 4.0) < 0.05, metrics
    assert abs(metrics["gen_std"] - 1.25) < 0.05, metrics
    assert metrics["ks"] <= 0.05, metrics
    # The tails too, on 1,000,000 draws of the end state: the 0.1 % and 99.9 % quantiles within 0.15 of the target's,
    # and no pile at the edges (benchmarks/gaussian_endstate.py; the first picture a user sees)
    from benchmarks.gaussian_endstate import TAIL_DRAWS, tails
    from gan.checkpoint import load_model

    model, _ = load_model(cfg.paths.output_dir)
    with torch.no_grad():
        end = tails(model.draw(TAIL_DRAWS, seed=1).double().numpy())
    assert end["tail_error"] <= 0.15 and end["pile"] <= 1.5, end
