"""What a fit's trainer knows that the model and the callbacks both read: where `last.ckpt` goes and how many
training steps the fit plans. Kept apart from both so that models never import callbacks (callbacks act on
models, not the other way round)."""

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint


def last_checkpoint_path(trainer: pl.Trainer) -> Path:
    """Where `last.ckpt` lives: the ModelCheckpoint's folder, else `<run>/checkpoints`."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.dirpath:
            return Path(callback.dirpath) / f"{ModelCheckpoint.CHECKPOINT_NAME_LAST}{ModelCheckpoint.FILE_EXTENSION}"
    return Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"


def planned_training_steps(trainer: pl.Trainer) -> int | None:
    """Training steps this fit will run: `trainer.max_epochs` epochs or `trainer.max_steps`, whichever is fewer.

    `trainer.max_steps` is held by the callback that enforces it (`gan.callbacks.safety.TrainingStepLimit`, which
    says so with `limits_training_steps`), since Lightning's own limit counts optimizer steps."""
    limits = []
    if trainer.max_epochs is not None and trainer.max_epochs > 0 and trainer.num_training_batches != float("inf"):
        limits.append(trainer.max_epochs * int(trainer.num_training_batches))
    limits += [c.max_steps for c in trainer.callbacks if getattr(c, "limits_training_steps", False) and c.max_steps >= 0]
    return min(limits) if limits else None
