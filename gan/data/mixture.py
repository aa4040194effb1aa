"""2-D Gaussian mixtures, the standard mode-collapse test (VEEGAN, Unrolled GAN, PacGAN), made on the fly.

`layout=ring`: `size` modes evenly on a circle of radius `radius` (PacGAN: 8 at radius 1, sigma 0.01).
`layout=grid`: a square grid of `size` modes spanning [-radius, radius] per axis (PacGAN: 25 at
(-4, -2, 0, 2, 4)^2, sigma 0.05). Every mode has the same weight and the isotropic std `sigma`.
"""

import math

import torch
from torch.utils.data import DataLoader, Dataset

from gan.data.resumable import ResumableDataModule, data_generator
from gan.errors import ConfigError
from gan.validate.data import check_mixture_layout


def mixture_centres(layout: str, size: int, radius: float) -> torch.Tensor:
    """(size, 2) mode centres of the mixture."""
    if layout == "ring":
        angle = torch.arange(size, dtype=torch.float64) * 2 * math.pi / size
        return torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
    if layout == "grid":
        side = math.isqrt(size)
        if side * side != size:
            raise ConfigError(f"data.size={size}: a grid needs a square number of modes, e.g. 25.")
        axis = torch.linspace(-radius, radius, side, dtype=torch.float64) if side > 1 else torch.zeros(1)
        return torch.cartesian_prod(axis, axis)
    check_mixture_layout(layout)  # raises: the layout is none of these


def sample_mixture(centres: torch.Tensor, sigma: float, n: int, generator=None) -> torch.Tensor:
    """(n, 2) draws: a uniformly chosen centre plus isotropic N(0, sigma^2) noise."""
    index = torch.randint(len(centres), (n,), generator=generator)
    return centres.float()[index] + sigma * torch.randn(n, centres.shape[1], generator=generator)


class _MixtureBatches(Dataset):
    """Item i is one training step's real data, (slices * batch_size, 2) fresh draws (index unused)."""

    def __init__(self, centres: torch.Tensor, sigma: float, n: int, length: int, generator=None) -> None:
        self.centres, self.sigma, self.n, self.length, self.generator = centres, sigma, n, length, generator

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        return sample_mixture(self.centres, self.sigma, self.n, self.generator)


class MixtureDataModule(ResumableDataModule):
    """A 2-D mixture in batches of `batch_size` points; one batch of `slices` of them feeds a training step."""

    def __init__(
        self,
        layout: str = "ring",
        size: int = 8,
        radius: float = 1.0,
        sigma: float = 0.01,
        batch_size: int = 100,
        slices: int = 1,
        steps_per_epoch: int = 500,
    ) -> None:
        super().__init__()
        for key, value in {"data.size": size, "data.batch_size": batch_size, "data.slices": slices,
                           "data.steps_per_epoch": steps_per_epoch}.items():
            if int(value) < 1:
                raise ConfigError(f"{key}={value}: must be a positive integer.")
        if not sigma > 0 or not radius > 0:
            raise ConfigError(f"data.sigma={sigma}, data.radius={radius}: both must be positive.")
        self.save_hyperparameters()
        self.centres = mixture_centres(layout, int(size), float(radius))
        self.sigma = float(sigma)
        self.sample_shape = (2,)  # what one discriminator sample looks like

    def train_dataloader(self) -> DataLoader:
        hp = self.hparams
        generator = data_generator(self)
        batches = _MixtureBatches(self.centres, self.sigma, hp.slices * hp.batch_size, hp.steps_per_epoch, generator)
        return self.train_loader(batches, generator, batch_size=None)  # each item already is a whole batch

    def val_dataloader(self) -> DataLoader:
        # The evaluation draws its own samples; one placeholder item triggers it once per validation.
        return DataLoader(torch.zeros(1), batch_size=None)
