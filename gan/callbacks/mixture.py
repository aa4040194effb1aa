"""What a 2-D mixture run shows: generated points over the mode centres, in TensorBoard and as scatter.png."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no screen on servers; figures go to files and TensorBoard
import matplotlib.pyplot as plt
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_only

from gan.callbacks import tensorboard_writer

if TYPE_CHECKING:  # callbacks act on models; only the type is named here
    from gan.models.mixture import MixtureGAN


def scatter_figure(points: torch.Tensor, centres: torch.Tensor, title: str) -> plt.Figure:
    """Generated points (small, translucent) with the mode centres (red crosses) on equal axes."""
    fig, ax = plt.subplots(figsize=(5, 5))
    p, c = points.detach().cpu().double().numpy(), centres.detach().cpu().double().numpy()
    ax.scatter(p[:, 0], p[:, 1], s=2, alpha=0.3, c="k", label="generated")
    ax.scatter(c[:, 0], c[:, 1], s=40, marker="x", c="r", label="mode centres")
    extent = 1.5 * float(abs(c).max())
    ax.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal", title=title)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig


def write_scatters(model: MixtureGAN, n: int, seed: int, png: Path, when: str) -> list[Path]:
    """`png` of n points as the run draws them and, when it keeps them by rejection sampling, `<png>_raw.png` of
    G's own n draws beside it; the points of `model.draw(n, seed)`."""
    pngs = [(png, model.draw(n, seed=seed), f"{n} samples {when}" + (", DRS" if model.rejecting else ""))]
    if model.rejecting:
        raw = model.draw(n, seed=seed, raw=True)
        pngs.append((png.with_stem(png.stem + "_raw"), raw, f"{n} samples {when}, raw G"))
    for path, points, title in pngs:
        figure = scatter_figure(points, model.centres, title)
        figure.savefig(path, dpi=100)
        plt.close(figure)
    return [path for path, _, _ in pngs]


def write_samples(model: MixtureGAN, n: int, out: Path, seed: int) -> list[Path]:
    """`samples.csv` (columns x, y) of n generated points and their scatter figure(s); used by `gan.sample`."""
    points = model.draw(n, seed=seed).double().cpu()
    csv = out / "samples.csv"
    csv.write_text("x,y\n" + "".join(f"{x:.8g},{y:.8g}\n" for x, y in points.tolist()))
    return [csv, *write_scatters(model, n, seed, out / "scatter.png", "from the generator")]


class MixtureMonitor(pl.Callback):
    """Logs a scatter figure at each validation (TensorBoard only) and writes `scatter.png` at the end, and
    `scatter_raw.png` of G's own draws beside it when the run keeps its points by rejection sampling."""

    def __init__(self, figure_every_n_epochs: int = 1, final_png: str = "scatter.png") -> None:
        self.figure_every_n_epochs = figure_every_n_epochs
        self.final_png = final_png

    @rank_zero_only
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        if trainer.sanity_checking or pl_module.sample_kind != "points":
            return
        tb = tensorboard_writer(trainer)
        if tb is None or trainer.current_epoch % self.figure_every_n_epochs:
            return
        step = pl_module.training_steps_done
        points = pl_module.draw(pl_module.hparams.eval_samples, seed=0)
        tb.add_figure("gen/scatter", scatter_figure(points, pl_module.centres, f"step {step}"), global_step=step)

    @rank_zero_only
    def on_fit_end(self, trainer: pl.Trainer, pl_module) -> None:
        if pl_module.sample_kind != "points" or not self.final_png:
            return
        write_scatters(pl_module, pl_module.hparams.eval_samples, 0, Path(trainer.default_root_dir) / self.final_png,
                       "at the end of training")
