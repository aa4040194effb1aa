"""The the MNIST notebook status display ("Epoch: [e/200], Batch Num: [b/600]", losses, D(x), D(G(z))) as a callback."""

import logging

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_only

from gan.callbacks import describe_discriminator

log = logging.getLogger(__name__)


class StatusLine(pl.Callback):
    """Every `every_n_batches` batches of an epoch (0, N, 2N, ...), prints the just-finished step's figures.

    Reads `train/d_loss`, `train/g_loss`, `train/d_real` (D(x)) and `train/d_fake` (D(G(z))) as the shared
    loop logs them, in the layout of the original's `Logger.display_status`; for losses whose D gives scores, not
    probabilities (wgan, hinge, lsgan), the mean scores instead (see `describe_discriminator`). The loop logs every
    `trainer.log_every_n_steps` steps; with 1 (as experiment=mnist_seed sets) each line shows its own batch.
    """

    def __init__(self, every_n_batches: int = 100) -> None:
        self.every_n_batches = every_n_batches

    @rank_zero_only
    def on_train_start(self, trainer: pl.Trainer, pl_module) -> None:
        if self.every_n_batches and trainer.log_every_n_steps != 1:
            log.warning("the status line shows the last logged step's figures, up to %d batches old; set "
                        "trainer.log_every_n_steps=1 for each line to show its own batch.",
                        trainer.log_every_n_steps - 1)

    @rank_zero_only
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if not self.every_n_batches or batch_idx % self.every_n_batches:
            return
        metrics = trainer.callback_metrics
        if "train/d_loss" not in metrics:
            return
        value = {key: float(metrics[f"train/{key}"]) for key in ("d_loss", "g_loss")}
        print(
            f"Epoch: [{trainer.current_epoch}/{trainer.max_epochs}], "
            f"Batch Num: [{batch_idx}/{trainer.num_training_batches}]\n"
            f"Discriminator Loss: {value['d_loss']:.4f}, Generator Loss: {value['g_loss']:.4f}\n"
            f"{describe_discriminator(metrics)}",
            flush=True,
        )
