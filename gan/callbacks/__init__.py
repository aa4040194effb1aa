"""Callbacks: everything a run shows (pictures, status lines) lives here, not in the training step."""

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger


def tensorboard_writer(trainer: pl.Trainer):
    """The TensorBoard SummaryWriter if a TensorBoard logger is attached, else None (pictures are skipped)."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None
