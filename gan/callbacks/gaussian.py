"""What a Gaussian run shows: the original's status line, moments beside targets, histograms, density plots."""

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_only

from gan.callbacks import describe_discriminator, tensorboard_writer
from gan.render import density_figure, save_figure


class GaussianMonitor(pl.Callback):
    """Prints the original's status line and logs moments, histograms and density figures.

    Runs after each validation (every `trainer.check_val_every_n_epoch` epochs), so it reads the
    `val/...` figures the model has just computed on its fixed evaluation draws. For the Gaussian GAN
    (conf/callbacks/variant/gaussian.yaml): a model that draws numbers and says what it targets.
    """

    def __init__(self, print_status: bool = True, figure_every_n_epochs: int = 3, final_png: str = "histogram.png"):
        self.print_status = print_status
        self.figure_every_n_epochs = figure_every_n_epochs
        self.final_png = final_png

    def status_each_epoch(self, pl_module) -> bool:
        """Whether this run prints its status line every epoch (gan.callbacks.progress.EpochLines then prints none)."""
        return self.print_status

    @rank_zero_only
    def on_fit_start(self, trainer: pl.Trainer, pl_module) -> None:
        tb = tensorboard_writer(trainer)
        if tb is not None:  # one chart per moment with generated and target lines together
            tb.add_custom_scalars(
                {
                    "Gaussian": {
                        name: ["Multiline", [f"val/gen_{name}", f"val/target_{name}"]]
                        for name in ("mean", "std", "skew", "kurtosis")
                    }
                }
            )

    @rank_zero_only
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        hp = pl_module.hparams
        targets = {"mean": hp.target_mean, "std": hp.target_std, "skew": 0.0, "kurtosis": 0.0}
        # Logged by rank 0 alone, so Lightning syncs nothing (rank_zero_only); sync_dist=True says that is right.
        pl_module.log_dict({f"val/target_{k}": float(v) for k, v in targets.items()}, rank_zero_only=True,
                           sync_dist=True)
        metrics = trainer.callback_metrics
        step = pl_module.training_steps_done
        if self.print_status:
            print(
                f"Training step {step}: D loss {_f(metrics, 'train/d_loss')} "
                f"({describe_discriminator(metrics).replace(':', '')}) "
                f"G loss {_f(metrics, 'train/g_loss')}; Real Dist [{hp.target_mean:g}, {hp.target_std:g}], "
                f"Fake Dist [{_f(metrics, 'val/gen_mean')}, {_f(metrics, 'val/gen_std')}]",
                flush=True,
            )
        tb = tensorboard_writer(trainer)
        if tb is None:
            return
        samples = pl_module.draw(hp.eval_samples, seed=0)
        tb.add_histogram("gen/samples", samples, global_step=step)
        if trainer.current_epoch % self.figure_every_n_epochs == 0:
            fig = density_figure(samples, hp.target_mean, hp.target_std, f"Generated distribution, step {step}")
            tb.add_figure("gen/density", fig, global_step=step)  # closes the figure

    @rank_zero_only
    def on_fit_end(self, trainer: pl.Trainer, pl_module) -> None:
        if not self.final_png:
            return
        hp = pl_module.hparams
        samples = pl_module.draw(hp.eval_samples, seed=0)
        fig = density_figure(samples, hp.target_mean, hp.target_std, "Histogram of Generated Distribution")
        save_figure(fig, Path(trainer.default_root_dir) / self.final_png)


def _f(metrics: dict, key: str) -> str:
    value = metrics.get(key)
    return "n/a" if value is None else f"{float(value):.4f}"
