"""Pictures of samples: image grids, histograms over a target density, scatters over mode centres.

The one place figures are drawn: the callbacks show them during training (TensorBoard, the run's PNGs) and
`gan.sample` writes them for a trained model, so both look the same.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no screen on servers; figures go to files and TensorBoard
import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid

if TYPE_CHECKING:  # rendering needs only what a model draws; the type is named for readers
    from gan.models.mixture import MixtureGAN


def image_grid(images: torch.Tensor, nrow: int) -> torch.Tensor:
    """(n, C, H, W) images in [-1, 1] -> one (3, H', W') picture in [0, 1], `nrow` images a row."""
    return make_grid(images.detach().float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1))


def density_figure(samples: torch.Tensor, mean: float, std: float, title: str) -> plt.Figure:
    """Histogram of generated numbers over the target density N(mean, std), as "GANs in 50 lines" plots it."""
    fig, ax = plt.subplots(figsize=(6, 4))
    values = samples.detach().cpu().double().numpy()
    ax.hist(values, bins=50, density=True, alpha=0.6, label="generated")
    grid = torch.linspace(mean - 4 * std, mean + 4 * std, 400, dtype=torch.float64)
    pdf = torch.exp(-0.5 * ((grid - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
    ax.plot(grid.numpy(), pdf.numpy(), "k-", label=f"real N({mean:g}, {std:g})")
    ax.set(xlabel="Value", ylabel="Density", title=title)
    ax.grid(True)
    ax.legend()
    fig.tight_layout()
    return fig


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


def save_figure(figure: plt.Figure, path: Path) -> Path:
    """Writes the figure as a PNG and frees it."""
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_scatters(model: MixtureGAN, n: int, seed: int, png: Path, when: str) -> list[Path]:
    """`png` of n points as the run draws them and, when it keeps them by rejection sampling, `<png>_raw.png` of
    G's own n draws beside it; the points of `model.draw(n, seed)`."""
    pngs = [(png, model.draw(n, seed=seed), f"{n} samples {when}" + (", DRS" if model.rejecting else ""))]
    if model.rejecting:
        raw = model.draw(n, seed=seed, raw=True)
        pngs.append((png.with_stem(png.stem + "_raw"), raw, f"{n} samples {when}, raw G"))
    return [save_figure(scatter_figure(points, model.centres, title), path) for path, points, title in pngs]
