"""Callbacks: everything a run shows (pictures, status lines) lives here, not in the training step."""


def tensorboard_writer(trainer):
    """The TensorBoard SummaryWriter if a TensorBoard logger is attached, else None (pictures are skipped)."""
    # Imported here: `gan.callbacks.sweep` is loaded by Hydra before any run, and a config error must not wait
    # for Lightning's imports.
    from pytorch_lightning.loggers import TensorBoardLogger

    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None
