"""Exact resume, safe stops (SIGTERM, Ctrl-C) and NaN stops, on the Gaussian GAN (no data needed)."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.exceptions import SIGTERMException

import gan.losses
from gan.errors import NonFiniteLossError
from gan.run import train
from tests.conftest import REPO
from tests.e2e.test_dcgan import NARROW
from tests.unit.test_dcgan import make_image_folder

# 5 training steps of 2 D + 2 G updates per epoch, small sets: a few seconds per run. CSV logs every step.
SMALL = ["logger=csv", "trainer.log_every_n_steps=1", "data.steps_per_epoch=5", "data.sample_size=50",
         "model.eval_samples=500", "model.d_steps=2", "model.g_steps=2", "callbacks.gaussian_monitor.print_status=false"]
# The split runs below stop at one length and resume to another; the LR decay's horizon is the run's planned
# length, so it would differ between the halves by design. These tests are about exact resumption: no decay.
SPLIT = [*SMALL, "model.lr_decay_start=null"]


def load(path):
    """A checkpoint as Lightning writes it; weights_only proves it holds no pickled objects."""
    return torch.load(path, map_location="cpu", weights_only=True)


def logged_losses(csv_file) -> dict[tuple[int, str], str]:
    """{(step, key): value as written} for the per-step losses in a CSVLogger metrics.csv."""
    with open(csv_file) as f:
        return {(int(row["step"]), key): row[key] for row in csv.DictReader(f)
                for key in ("train/d_loss", "train/g_loss") if row.get(key)}


def assert_same_state(a: dict, b: dict) -> None:
    assert a["global_step"] == b["global_step"] and a["epoch"] == b["epoch"]
    for key, tensor in a["state_dict"].items():  # both players, fixed_noise (and EMA when on)
        assert torch.equal(tensor, b["state_dict"][key]), key
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"], strict=True):  # D's and G's Adam
        for pa, pb in zip(opt_a["state"].values(), opt_b["state"].values(), strict=True):
            assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert torch.equal(a["rng_states"]["torch"], b["rng_states"]["torch"])


@pytest.mark.slow
@pytest.mark.parametrize("limit, k, total", [("trainer.max_epochs", 1, 3), ("trainer.max_steps", 5, 15)])
def test_resume_at_epoch_end_continues_exactly(make_cfg, tmp_path, limit, k, total):
    """k steps, then `resume=<run dir>` to the end == the whole run straight: weights, optimizers, RNG, logs."""
    straight = train(make_cfg(*SPLIT, f"{limit}={total}", output_dir=tmp_path / "straight"))
    train(make_cfg(*SPLIT, f"{limit}={k}", output_dir=tmp_path / "split"))
    resumed = train(make_cfg(f"resume={tmp_path / 'split'}", f"{limit}={total}"))

    assert resumed["training_steps"] == straight["training_steps"] == 15
    assert_same_state(load(tmp_path / "straight/checkpoints/last.ckpt"), load(tmp_path / "split/checkpoints/last.ckpt"))
    before = logged_losses(tmp_path / "straight/csv/metrics.csv")
    (after_file,) = (tmp_path / "split/csv").glob("resumed-*/metrics.csv")  # the first part's log is kept
    after = logged_losses(after_file)
    assert sorted({step for step, _ in after}) == list(range(5, 15))
    assert after == {key: value for key, value in before.items() if key[0] >= 5}
    assert logged_losses(tmp_path / "split/csv/metrics.csv").keys() == {k for k in before if k[0] < 5}


# Three training data sources, each with 5 or 6 batches per epoch and losses logged every step.
MID_EPOCH = {
    "gaussian": SPLIT,  # the data are draws made by the loader's own generator
    "mnist": ["model=vanilla", "data=mnist", "data.batch_size=16", "eval.feature_extractor=null",
              "logger=csv", "trainer.log_every_n_steps=1", "++trainer.limit_train_batches=5"],  # shuffled gathers
    "image_folder": [*NARROW, "logger=csv", "trainer.log_every_n_steps=1", "data=image_folder",
                     "data.image_size=32", "data.batch_size=4"],  # 24 readable images: 6 batches
}
# The same folder decoded per item in a loader worker, as when it is larger than the cache budget.
MID_EPOCH["image_files"] = [*MID_EPOCH["image_folder"], "data.cache_bytes=0", "data.num_workers=1"]


@pytest.mark.slow
@pytest.mark.parametrize("data", MID_EPOCH)
def test_resume_mid_epoch_continues_exactly(make_cfg, tmp_path, data):
    """Stopped at step 8, mid-epoch: the resumed run replays the epoch's order and random draws from step 8 on."""
    overrides = MID_EPOCH[data]
    if data.startswith("image"):
        overrides = [*overrides, f"data.root={make_image_folder(tmp_path / 'images', n_rgb=19)}"]
    straight = train(make_cfg(*overrides, "trainer.max_steps=13", output_dir=tmp_path / "straight"))
    train(make_cfg(*overrides, "trainer.max_steps=8", output_dir=tmp_path / "split"))
    (loader_state,) = load(tmp_path / "split/checkpoints/last.ckpt")["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert loader_state["batches_trained"] == 8 % (6 if data.startswith("image") else 5)  # 3 or 2 batches into an epoch
    resumed = train(make_cfg(f"resume={tmp_path / 'split'}", "trainer.max_steps=13"))

    assert resumed["training_steps"] == straight["training_steps"] == 13
    assert_same_state(load(tmp_path / "straight/checkpoints/last.ckpt"), load(tmp_path / "split/checkpoints/last.ckpt"))
    before = logged_losses(tmp_path / "straight/csv/metrics.csv")
    (after_file,) = (tmp_path / "split/csv").glob("resumed-*/metrics.csv")
    after = logged_losses(after_file)
    assert sorted({step for step, _ in after}) == list(range(8, 13))
    assert after == {key: value for key, value in before.items() if key[0] >= 8}


class _SignalAt(pl.Callback):
    """Sends `signum` to this process after `step` training steps, as a scheduler or a person would."""

    def __init__(self, signum: int, step: int) -> None:
        self.signum, self.step = signum, step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.training_steps_done == self.step:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_saves_last_checkpoint_at_a_step_boundary(make_cfg, tmp_path, monkeypatch, signum):
    """SIGTERM or a first Ctrl-C stop after the current step; last.ckpt then holds that step, whole, and
    resuming from it (mid-epoch: step 7 of 5-step epochs) ends where a run never stopped ends."""
    import gan.run

    real = gan.run._instantiate_all
    monkeypatch.setattr(gan.run, "_instantiate_all",
                        lambda group: real(group) + ([_SignalAt(signum, 7)] if group and "graceful_stop" in group else []))
    before = signal.getsignal(signal.SIGINT)  # Python's default_int_handler, or SIG_IGN in a background job
    with pytest.raises(SIGTERMException):
        train(make_cfg(*SMALL, "logger=none", "trainer.max_epochs=100", output_dir=tmp_path / "run"))
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored after the run
    checkpoint = load(tmp_path / "run/checkpoints/last.ckpt")
    assert checkpoint["global_step"] == 7 * 4
    assert not list((tmp_path / "run/checkpoints").glob("*.tmp*"))  # no half-written leftovers

    monkeypatch.setattr(gan.run, "_instantiate_all", real)
    train(make_cfg(f"resume={tmp_path / 'run'}", "trainer.max_steps=12"))
    train(make_cfg(*SMALL, "logger=none", "trainer.max_steps=12", output_dir=tmp_path / "straight"))
    assert_same_state(load(tmp_path / "straight/checkpoints/last.ckpt"), load(tmp_path / "run/checkpoints/last.ckpt"))


@pytest.mark.slow
def test_sigterm_to_the_command_then_resume(make_cfg, tmp_path):
    """`python -m gan.run` killed with SIGTERM mid-run: exit 1, no traceback, a loadable last.ckpt; resume ends."""
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "gan.run", *SMALL, "logger=none", "trainer.max_epochs=1000",
               "++trainer.enable_progress_bar=false", f"paths.output_dir={run_dir}"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)  # training has started once the first epoch's checkpoint exists
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert "Traceback" not in err and f"resume={run_dir}" in err
    steps = load(last)["global_step"] // 4
    assert steps >= 5
    resumed = train(make_cfg(f"resume={run_dir}", f"trainer.max_steps={steps + 3}"))
    assert resumed["training_steps"] == steps + 3


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(make_cfg, tmp_path, monkeypatch):
    """A NaN G loss at the 8th step names the loss and the step; last.ckpt stays the good epoch-end state."""
    d_loss, g_loss = gan.losses.LOSSES["bce"]
    calls = {"n": 0}

    def g_loss_nan_at_step_8(fake_logits):
        calls["n"] += 1
        loss = g_loss(fake_logits)
        return loss * float("nan") if calls["n"] == 8 * 2 else loss  # g_steps=2 G updates per training step

    monkeypatch.setitem(gan.losses.LOSSES, "bce", (d_loss, g_loss_nan_at_step_8))
    with pytest.raises(NonFiniteLossError, match=r"g_loss became nan at training step 8 "):
        train(make_cfg(*SMALL, "logger=none", "model.loss=bce", "trainer.max_epochs=3", output_dir=tmp_path / "run"))
    checkpoint = load(tmp_path / "run/checkpoints/last.ckpt")
    assert checkpoint["global_step"] == 5 * 4  # the end of epoch 0, not the bad step
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values())

