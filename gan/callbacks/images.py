"""Sample grids from the model's fixed noise, written as PNG files and to TensorBoard."""

import math
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_only
from torchvision.utils import save_image

from gan.callbacks import tensorboard_writer
from gan.render import image_grid


class SampleGrid(pl.Callback):
    """Every `every_n_steps` training steps or `every_n_epochs` epochs (and at the end of fit), draws
    `num_samples` images from the fixed noise and saves them as `<dirname>/<filename % index>`, at most `nrow`
    a row: 64 images as 8 x 8, 16 as 4 x 4.

    The index is the 1-based epoch in epoch mode, as the Tom & Jerry notebook's `generated-images-0001.png, -0051, ...`,
    and the training step in step mode. For image GANs (conf/callbacks/variant/images.yaml); what the grid holds
    is the model's `grid_inputs` (a conditional model: one row per class, the same noise down each column).
    """

    def __init__(
        self,
        num_samples: int = 64,
        nrow: int = 8,
        every_n_steps: int | None = None,
        every_n_epochs: int | None = 1,
        dirname: str = "samples",
        filename: str = "generated-images-{:04d}.png",
    ) -> None:
        self.num_samples, self.nrow = num_samples, nrow
        self.every_n_steps, self.every_n_epochs = every_n_steps, every_n_epochs
        self.dirname, self.filename = dirname, filename
        self.last_index: int | None = None

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        step = pl_module.training_steps_done
        if self.every_n_steps and step % self.every_n_steps == 0:
            self.save(trainer, pl_module, index=step, tb_step=step)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        if self.every_n_epochs and trainer.current_epoch % self.every_n_epochs == 0:
            self.save(trainer, pl_module, index=trainer.current_epoch + 1, tb_step=pl_module.training_steps_done)

    def on_fit_end(self, trainer: pl.Trainer, pl_module) -> None:
        step = pl_module.training_steps_done
        index = step if self.every_n_steps else trainer.current_epoch
        if index != self.last_index:  # the final state, unless the last save already showed it
            self.save(trainer, pl_module, index=index, tb_step=step)

    @rank_zero_only
    def save(self, trainer: pl.Trainer, pl_module, index: int, tb_step: int) -> Path:
        # The model says what its picture is: the fixed noise, or for a conditional model one row per class.
        noise, labels, nrow = pl_module.grid_inputs(self.num_samples)
        images = pl_module.generate(noise=noise, labels=labels)  # eval mode, no grad
        # At most `nrow` images a row; fewer than fill a square of them (the vanilla GAN's 16) are laid out square.
        nrow = nrow or min(self.nrow, math.ceil(math.sqrt(len(images))))
        grid = image_grid(images, nrow)
        path = Path(trainer.default_root_dir) / self.dirname / self.filename.format(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path)
        self.last_index = index
        writer = tensorboard_writer(trainer)
        if writer is not None:
            writer.add_image("samples/fixed_noise", grid, global_step=tb_step)
        return path

