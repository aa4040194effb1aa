"""Stopping a run safely: Ctrl-C / SIGTERM save a checkpoint at a step boundary; step limits in training steps.

Lightning turns SIGTERM into a flag that its loops check after each batch, so the run stops between two
training steps with every counter consistent. `GracefulStop` makes the first Ctrl-C do the same (a second
one interrupts at once) and, when the loop stops, writes `checkpoints/last.ckpt`. Lightning writes it
through an fsspec transaction (a temporary file moved into place), so an existing last.ckpt is replaced
whole or not at all. A NaN/inf loss writes nothing: the last good checkpoint stays.
"""

import os
import signal
import sys
import threading
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_only
from pytorch_lightning.utilities.exceptions import SIGTERMException

from gan.resume import resume_command
from gan.steps import last_checkpoint_path


class GracefulStop(pl.Callback):
    """Saves `last.ckpt` when SIGTERM (or a first Ctrl-C) stops the run, and says how to resume it."""

    def __init__(self, catch_ctrl_c: bool = True) -> None:
        self.catch_ctrl_c = catch_ctrl_c
        self._previous_handler = None

    def on_train_start(self, trainer: pl.Trainer, pl_module) -> None:
        # After Lightning has snapshotted the handlers it restores at teardown, so ours is removed with them.
        # Signal handlers can only be installed from the main thread (not in e.g. a notebook worker thread).
        if self.catch_ctrl_c and _in_main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_ctrl_c)

    def _on_ctrl_c(self, signum, frame) -> None:
        print("\nCtrl-C: stopping after this training step and saving a checkpoint (Ctrl-C again to abort now).",
              file=sys.stderr, flush=True)
        signal.signal(signal.SIGINT, self._previous_handler or signal.default_int_handler)
        self._previous_handler = None
        os.kill(os.getpid(), signal.SIGTERM)  # Lightning's own SIGTERM flag: checked after each batch

    def _restore_ctrl_c(self) -> None:
        if self._previous_handler is not None and _in_main_thread():
            signal.signal(signal.SIGINT, self._previous_handler)
        self._previous_handler = None

    def teardown(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        self._restore_ctrl_c()

    def on_exception(self, trainer: pl.Trainer, pl_module, exception: BaseException) -> None:
        self._restore_ctrl_c()  # Lightning skips the teardown hooks when a run ends by an exception
        # Only a signal stop is saved: it happens between steps. A crash or a second Ctrl-C may leave a
        # half-done step (D updated, G not), and a NaN loss means the weights are not worth keeping.
        if isinstance(exception, KeyboardInterrupt):
            _say_what_is_kept(last_checkpoint_path(trainer))
        if not isinstance(exception, SIGTERMException):
            return
        path = last_checkpoint_path(trainer)
        # Collective under DDP: every rank got the broadcast SIGTERM flag. A full checkpoint, optimizers included,
        # as ModelCheckpoint writes (said explicitly: Lightning logs its default otherwise).
        trainer.save_checkpoint(path, weights_only=False)
        _say_how_to_resume(trainer, pl_module, path)


@rank_zero_only
def _say_how_to_resume(trainer: pl.Trainer, pl_module, path: Path) -> None:
    print(
        f"Stopped by signal at training step {pl_module.training_steps_done} (epoch {trainer.current_epoch}); "
        f"saved {path}.\nContinue with: {resume_command(path.parent.parent)}",
        file=sys.stderr,
        flush=True,
    )


@rank_zero_only
def _say_what_is_kept(path: Path) -> None:
    """After a second Ctrl-C (no checkpoint of the half-done step): what is kept and how to go on."""
    if path.is_file():
        print(f"Aborted by a second Ctrl-C; the last checkpoint {path} is kept.\n"
              f"Continue with: {resume_command(path.parent.parent)}", file=sys.stderr, flush=True)
    else:
        print("Aborted by a second Ctrl-C before any checkpoint was saved; nothing to resume.", file=sys.stderr, flush=True)


class TrainingStepLimit(pl.Callback):
    """Stops after `max_steps` training steps (one D+G round each); -1 or None: no limit.

    Lightning's own `max_steps` counts optimizer steps and, when set, makes every resume look like a
    mid-epoch restart (it then re-numbers logged steps and re-creates the data iterator differently), so
    `gan.run` keeps Lightning's limit off and stops through `trainer.should_stop` instead. Validation and
    the checkpoint still run at the stop, as for early stopping.
    """

    limits_training_steps = True  # gan.steps.planned_training_steps reads max_steps from it

    def __init__(self, max_steps: int | None = -1) -> None:
        self.max_steps = -1 if max_steps is None else int(max_steps)

    def _reached(self, pl_module) -> bool:
        return self.max_steps >= 0 and pl_module.training_steps_done >= self.max_steps

    def on_train_start(self, trainer: pl.Trainer, pl_module) -> None:
        if self._reached(pl_module):  # resumed at or past the limit: nothing left to do
            trainer.should_stop = True

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if self._reached(pl_module):
            trainer.should_stop = True


class RankSeed(pl.Callback):
    """Under DDP, gives each rank its own noise and data stream; does nothing on one process.

    `seed_everything` seeds every rank alike (and a resumed run restores rank 0's RNG state on all of
    them), so without this every GPU would draw the same noise and the same Gaussian sets. At train start
    each rank reseeds from a draw of the shared state plus its rank: deterministic for a given world size.
    """

    def on_train_start(self, trainer: pl.Trainer, pl_module) -> None:
        if trainer.world_size > 1:
            base = int(torch.randint(0, 2**31 - 1, ()).item())  # the same on every rank
            pl.seed_everything(base + trainer.global_rank, workers=True, verbose=False)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
