"""In a terminal Lightning's live bar stays; output to a file or a pipe gets one plain line per epoch instead."""

import io
import os
import sys
from types import SimpleNamespace

from pytorch_lightning.callbacks import RichProgressBar

from gan.callbacks.progress import EpochLines, redraws_in_place

# Variables by which rich (so Lightning's bar) takes any output for a terminal; a test of the plain case unsets them.
FORCE_TERMINAL = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def test_in_a_terminal_lightnings_bar_stays(monkeypatch):
    for name in FORCE_TERMINAL:
        monkeypatch.delenv(name, raising=False)
    primary, replica = os.openpty()
    try:
        with open(replica, "w", closefd=False) as terminal:
            monkeypatch.setattr(sys, "stdout", terminal)
            assert redraws_in_place()
            bar, lines = RichProgressBar(), EpochLines()
            lines.setup(SimpleNamespace(progress_bar_callback=bar, callbacks=[]), None, "fit")
            assert bar.is_enabled and not lines.active
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        assert not redraws_in_place()
        lines.setup(SimpleNamespace(progress_bar_callback=bar, callbacks=[]), None, "fit")
        assert bar.is_disabled and lines.active
        lines.setup(SimpleNamespace(progress_bar_callback=None, callbacks=[]), None, "fit")  # trainer.enable_progress_bar=false
        assert not lines.active
    finally:
        os.close(primary)
        os.close(replica)


def test_an_epoch_resumed_midway_is_timed_from_the_resume(monkeypatch, capsys):
    """Lightning starts a run resumed mid-epoch without on_train_epoch_start: its epoch line counted the seconds
    since the machine booted ("1 batches in 10:27:15")."""
    import time

    lines = EpochLines()
    lines.active = True
    trainer = SimpleNamespace(current_epoch=0, max_epochs=20, callbacks=[], progress_bar_metrics={},
                              num_training_batches=50, lightning_module=None)
    monkeypatch.setattr(time, "perf_counter", lambda: 37_635.0)  # 10:27:15 after boot, perf_counter's origin here
    lines.on_train_start(trainer, None)
    lines.on_train_batch_end(trainer, None, None, None, 0)
    lines.on_train_epoch_end(trainer, None)
    assert capsys.readouterr().out.strip() == "Epoch 1/20: 1 batches in 0:00:00"


def test_a_run_ended_by_its_step_limit_counts_steps_not_a_ceiling_of_epochs():
    """`model=dcgan data=tomjerry` runs 6,000 steps with max_epochs 100000 as a mere ceiling: its lines said
    "Epoch 1/100000"; they give the steps instead. A run ended by its epochs keeps "Epoch 3/20"."""
    from gan.callbacks.progress import epoch_line
    from gan.callbacks.safety import TrainingStepLimit

    limit = TrainingStepLimit(6000)
    module = SimpleNamespace(training_steps_done=21)
    trainer = SimpleNamespace(current_epoch=2, max_epochs=100000, callbacks=[limit], progress_bar_metrics={},
                              num_training_batches=7, lightning_module=module)
    assert epoch_line(trainer, 7, 3.0) == "Epoch 3, step 21/6000: 7 batches in 0:00:03"
    trainer.max_epochs = 20  # 140 steps: the epochs end it
    assert epoch_line(trainer, 7, 3.0) == "Epoch 3/20: 7 batches in 0:00:03"
    trainer.max_epochs = -1  # no epoch limit at all
    assert epoch_line(trainer, 7, 3.0) == "Epoch 3, step 21/6000: 7 batches in 0:00:03"
