"""What a 2-D mixture run shows: generated points over the mode centres, in TensorBoard and as scatter.png."""

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_only

from gan.callbacks import tensorboard_writer
from gan.render import scatter_figure, write_scatters


class MixtureMonitor(pl.Callback):
    """Logs a scatter figure at each validation (TensorBoard only) and writes `scatter.png` at the end, and
    `scatter_raw.png` of G's own draws beside it when the run keeps its points by rejection sampling. For the 2-D
    mixtures (conf/callbacks/variant/mixture.yaml)."""

    def __init__(self, figure_every_n_epochs: int = 1, final_png: str = "scatter.png") -> None:
        self.figure_every_n_epochs = figure_every_n_epochs
        self.final_png = final_png

    @rank_zero_only
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        tb = tensorboard_writer(trainer)
        if tb is None or trainer.current_epoch % self.figure_every_n_epochs:
            return
        step = pl_module.training_steps_done
        points = pl_module.draw(pl_module.hparams.eval_samples, seed=0)
        tb.add_figure("gen/scatter", scatter_figure(points, pl_module.centres, f"step {step}"), global_step=step)

    @rank_zero_only
    def on_fit_end(self, trainer: pl.Trainer, pl_module) -> None:
        if not self.final_png:
            return
        write_scatters(pl_module, pl_module.hparams.eval_samples, 0, Path(trainer.default_root_dir) / self.final_png,
                       "at the end of training")
