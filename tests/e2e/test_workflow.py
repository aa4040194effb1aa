"""Sweeps through the real entry point: job folders, TensorBoard runs and HParams, the summary; EMA; errors."""

import csv
import math
import sys

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.hparams import plugin_data_pb2

import gan.run
from gan.run import train
from tests.conftest import SHARED_DATA

FAST = ["trainer.fast_dev_run=true", f"paths.data_dir={SHARED_DATA}"]


def run_main(monkeypatch, *argv: str):
    """`python -m gan.run <argv>` in this process (Hydra's basic launcher runs multirun jobs in-process)."""
    GlobalHydra.instance().clear()
    monkeypatch.setattr(sys, "argv", ["gan.run", *argv])
    try:
        return gan.run.main()
    finally:
        GlobalHydra.instance().clear()


def hparams_of(run_dir) -> tuple[dict, list[str]]:
    """(hyperparameters, metric tags) of a run's TensorBoard HParams entry, read as TensorBoard reads it."""
    events = EventAccumulator(str(run_dir))
    events.Reload()
    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    params = {k: v.number_value or v.string_value for k, v in start.session_start_info.hparams.items()}
    return params, [m.name.tag for m in experiment.experiment.metric_infos]


def test_multirun_makes_one_folder_run_and_summary_row_per_job(monkeypatch, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    run_main(monkeypatch, "-m", "model.g_lr=1e-3,2e-3", "model.d_lr=1e-3", *FAST, f"hydra.sweep.dir={sweep}")

    jobs = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert jobs == ["0_model.d_lr=0.001,model.g_lr=0.001", "1_model.d_lr=0.001,model.g_lr=0.002"]
    # `tensorboard --logdir <sweep>` shows one run per job, named by its folder (= its overrides)
    multiplexer = EventMultiplexer().AddRunsFromDirectory(str(sweep))
    assert sorted(multiplexer.Runs()) == jobs
    for job, g_lr in zip(jobs, (1e-3, 2e-3)):
        params, metric_tags = hparams_of(sweep / job)
        assert params["model.g_lr"] == pytest.approx(g_lr) and params["model.d_lr"] == pytest.approx(1e-3)
        assert "final/val/w1" in metric_tags and "final/train/g_loss" in metric_tags

    with open(sweep / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["job"] for r in rows] == sorted(jobs, key=lambda j: float(next(r["val/w1"] for r in rows if r["job"] == j)))
    assert all(math.isfinite(float(r["val/w1"])) and r["status"] == "ok" for r in rows)
    assert list(rows[0])[:2] == ["job", "val/w1"]  # the main metric first
    assert "Sweep summary, best first by val/w1 (min)" in capsys.readouterr().out


def test_a_failing_job_does_not_end_the_sweep(monkeypatch, tmp_path):
    """A NaN job (real data at +inf) is recorded as failed, listed last, and the next job still runs."""
    sweep = tmp_path / "sweep"
    run_main(monkeypatch, "-m", "data.mean=inf,4", *FAST, f"hydra.sweep.dir={sweep}")
    with open(sweep / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["job"] for r in rows] == ["1_data.mean=4", "0_data.mean=inf"]
    assert rows[1]["status"].startswith("error: d_loss became nan at training step 1 ")


def test_single_run_error_is_one_line(monkeypatch, tmp_path):
    """Outside a sweep a user error (here a NaN loss) exits with its message alone, no traceback."""
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, "data.mean=inf", *FAST, f"paths.output_dir={tmp_path / 'run'}")
    assert str(stop.value).startswith("error: d_loss became nan at training step 1 (epoch 0).")


def test_ema_generator_is_checkpointed_and_used_for_samples(make_cfg, tmp_path):
    """model.ema_decay keeps an averaged G: in last.ckpt, frozen for DDP, and what generate() draws from."""
    cfg = make_cfg("++model.ema_decay=0.5", "model.g_steps=2", "logger=none", "trainer.max_steps=3", "data.steps_per_epoch=3",
                   "data.sample_size=50", "model.eval_samples=500")
    train(cfg)
    state = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)["state_dict"]
    ema_keys = [k for k in state if k.startswith("generator_ema.module.")]
    assert ema_keys and state["generator_ema.n_averaged"].item() == 3 * 2  # one update per G step

    from gan.checkpoint import load_model

    model, _ = load_model(tmp_path / "run")
    assert not any(p.requires_grad for p in model.generator_ema.parameters())
    for key in ema_keys:  # restored, and not equal to the raw generator after 6 updates at decay 0.5
        assert torch.equal(model.state_dict()[key], state[key])
    noise = model.sample_noise(2)
    with torch.no_grad():
        assert torch.equal(model.generate(noise=noise), model.generator_ema.module.eval()(noise))
        assert not torch.allclose(model.generate(noise=noise), model.generator.eval()(noise))
