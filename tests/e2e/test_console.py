"""What a run prints: no advertisements, library deprecations or repeated library advice; the user's own warnings
as plain lines; a live bar in a terminal and one plain line per epoch in a log file; and where results went."""

import contextlib
import io
import logging
import os
import re
import subprocess
import sys
import warnings
from types import SimpleNamespace

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict

from gan.run import train
from tests.conftest import REPO, compose_config
from tests.seed_recipes import tiny_image_folder
from tests.unit.test_console import FORCE_TERMINAL

# DCGAN at width 4 on 16 random 32 px images in batches of 4: two epochs of 4 batches, a few seconds.
SMALL_FOLDER = ["model=dcgan", "data=image_folder", "data.image_size=32", "data.batch_size=4", "model.eval_samples=4",
                "model.generator.width=4", "model.discriminator.width=4", "trainer.max_epochs=2", "logger=csv"]


def test_a_run_is_quiet_and_ends_by_naming_its_folder(tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "gan.run", "trainer.max_epochs=1", "data.steps_per_epoch=3", "data.sample_size=50",
               "logger=tensorboard", f"paths.output_dir={run_dir}"]  # fmt: skip
    env = {**{k: v for k, v in os.environ.items() if k not in FORCE_TERMINAL}, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout + result.stderr
    assert "litlogger" not in printed and "LeafSpec" not in printed
    assert "smaller than the logging interval" not in printed  # the interval fits the 3-batch epoch instead
    assert re.search(r"^Training step 3: D loss ", result.stdout, re.MULTILINE)  # the Gaussian GAN's own line, once
    assert not re.search(r"^Epoch 1/1", result.stdout, re.MULTILINE)
    assert "━" not in printed  # output to a pipe: no bar frame
    last = result.stdout.strip().splitlines()[-1]
    assert str(run_dir) in last and "metrics.json" in last and f"tensorboard --logdir {run_dir}" in last
    assert (run_dir / "metrics.json").is_file()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _run_capturing(cfg) -> SimpleNamespace:
    """train(cfg) with the bar as a user has it, output not to a terminal: every warning, log record, printed line."""
    with open_dict(cfg):
        cfg.trainer.enable_progress_bar = True  # tests/conftest.py turns it off
    handler = _Records()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()) as out, \
            pytest.MonkeyPatch.context() as patch:  # fmt: skip
        warnings.simplefilter("always")  # also the warnings pyproject.toml ignores in tests
        for name in FORCE_TERMINAL:
            patch.delenv(name, raising=False)
        logging.getLogger().addHandler(handler)
        try:
            train(cfg)
        finally:
            logging.getLogger().removeHandler(handler)
            GlobalHydra.instance().clear()
    return SimpleNamespace(warnings=caught, records=handler.records, stdout=out.getvalue())


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """A small image-folder run, as a user would start it with its output going to a file."""
    root = tmp_path_factory.mktemp("folder_run")
    images = tiny_image_folder(root / "images", n=16)
    done = _run_capturing(compose_config([*SMALL_FOLDER, f"data.root={images}"], root / "run"))
    done.run_dir = root / "run"
    return done


def test_a_warning_about_the_run_is_one_log_line_not_a_quoted_source_line(folder_run):
    ours = [f"{w.filename}:{w.lineno}: {w.message}" for w in folder_run.warnings if str(REPO / "gan") in w.filename]
    assert not ours  # a warnings.warn from gan/ prints its file and the calling source line under the message
    unmeasured = [r.getMessage() for r in folder_run.records if "NOT measured" in r.getMessage()]
    assert any("unlabelled images have no classes" in line for line in unmeasured)  # the user's own news stays
    assert all("\n" not in line for line in unmeasured)


def test_a_small_folder_writes_curves_every_epoch_without_lightnings_interval_warning(folder_run):
    assert not [w for w in folder_run.warnings if "smaller than the logging interval" in str(w.message)]
    (metrics,) = folder_run.run_dir.rglob("metrics.csv")
    header, *rows = [line.split(",") for line in metrics.read_text().splitlines()]
    epochs = {row[header.index("epoch")] for row in rows if row[header.index("train/d_loss")]}
    assert epochs == {"0", "1"}  # 4 batches an epoch: trainer.log_every_n_steps=10 would write none in 8 steps


def test_without_a_terminal_the_bar_is_one_plain_line_per_epoch(folder_run):
    lines = [line for line in folder_run.stdout.splitlines() if line.startswith("Epoch")]
    assert len(lines) == 2, folder_run.stdout
    for epoch, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"Epoch {epoch}/2: 4 batches in \d+:\d\d:\d\d, run ETA \d+:\d\d:\d\d; train/d_loss \d\.\d{{3}}, .*g_loss .*",
                            line)
    assert "━" not in folder_run.stdout  # no frame of the live bar


def test_a_run_with_its_own_status_line_each_epoch_prints_no_second_one(make_cfg, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a terminal, as `> log.txt`
    cfg = make_cfg("data.steps_per_epoch=5", "trainer.max_epochs=2", "logger=none", "model.eval_samples=100")
    with open_dict(cfg):
        cfg.trainer.enable_progress_bar = True
    train(cfg)
    out = sys.stdout.getvalue()
    assert out.count("Training step ") == 2, out  # the Gaussian GAN's own line, each epoch
    assert not re.search(r"^Epoch \d", out, flags=re.M), out


class _FixedFigures:
    """An evaluator that measures at once (no classifier to build): what SampleQuality logs is the point here."""

    def describe(self):
        return ["fid (fixed, for this test)"], []

    def can_measure(self):
        return True

    def prepare(self):
        pass

    def evaluate(self, model):
        return {"fid": 1.0, "fid_floor": 0.5}


def test_distributed_runs_log_epoch_figures_without_sync_dist_advice(tmp_path, monkeypatch):
    """Lightning advises `sync_dist=True` for every unsynced epoch figure of a DDP run (trainer=ddp_cpu printed it
    4-18 times). DDP with one process runs here, in process: the same strategy and process group, no re-launch."""
    monkeypatch.setattr("gan.models.image.ImageGAN.evaluator", lambda self, *args, **kwargs: _FixedFigures())
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # gan.run tells further ranks the run folder through argv
    # Lightning sets MASTER_ADDR, MASTER_PORT, WORLD_SIZE, LOCAL_RANK, ... in this process: a DDP command that a later
    # test starts would inherit them, take itself for an already launched rank and wait for its peer for ever.
    environ = dict(os.environ)
    images = tiny_image_folder(tmp_path / "images", n=8)
    ddp = ["trainer=ddp_cpu", "trainer.devices=1", "trainer.max_epochs=1"]
    runs = {
        "gaussian": [*ddp, "data.steps_per_epoch=2", "data.sample_size=50", "model.eval_samples=200", "logger=csv"],
        "image": [*SMALL_FOLDER, *ddp, f"data.root={images}"],
    }  # fmt: skip
    advice = {}
    try:
        for name, overrides in runs.items():
            done = _run_capturing(compose_config(overrides, tmp_path / name))
            advice[name] = [str(w.message) for w in done.warnings if "sync_dist=True" in str(w.message)]
            assert torch.distributed.is_initialized()  # it was a DDP run
            torch.distributed.destroy_process_group()
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        os.environ.clear()
        os.environ.update(environ)
    assert advice == {"gaussian": [], "image": []}


def test_a_run_its_step_limit_ends_mid_epoch_logs_its_last_step(make_cfg, tmp_path):
    """13 steps of 20-step epochs, curves every 10: the last step's figures reach the curves (and the epoch line),
    where before Lightning wrote step 10's figures again as step 13's."""
    cfg = make_cfg("data.steps_per_epoch=20", "trainer.max_steps=13", "trainer.log_every_n_steps=10", "logger=csv",
                   "model.eval_samples=100", output_dir=tmp_path / "run")
    train(cfg)
    (metrics,) = (tmp_path / "run").rglob("metrics.csv")
    header, *rows = [line.split(",") for line in metrics.read_text().splitlines()]
    logged = [row[header.index("train/d_loss")] for row in rows if row[header.index("train/d_loss")]]
    assert len(logged) == 2 and logged[0] != logged[1], logged  # steps 10 and 13: Lightning wrote step 10's again
