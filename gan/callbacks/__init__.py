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


def describe_discriminator(metrics: dict) -> str:
    """What D said in the last logged step, in the loss's own terms: D(x) and D(G(z)) when the loss makes them
    probabilities (bce, minimax); the mean scores otherwise (lsgan: regressed to 1 and 0), plus the critic's
    Wasserstein estimate for wgan and hinge. A sigmoid of a critic score would mean nothing."""
    def value(key: str) -> str:
        return f"{float(metrics[key]):.4f}" if key in metrics else "n/a"

    if "train/d_real" in metrics:
        return f"D(x): {value('train/d_real')}, D(G(z)): {value('train/d_fake')}"
    text = f"score(x): {value('train/score_real')}, score(G(z)): {value('train/score_fake')}"
    if "train/wasserstein" in metrics:
        text += f", W estimate: {value('train/wasserstein')}"
    return text
