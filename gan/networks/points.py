"""MLP networks for low-dimensional points (the 2-D mixtures): G maps noise to a point, D judges packs of points."""

import math
from collections.abc import Sequence

import torch
from torch import nn

from gan.networks.packing import pack_samples
from gan.validate import networks as checks


def _mlp(widths: Sequence[int], negative_slope: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(nn.LeakyReLU(negative_slope) if negative_slope else nn.ReLU())
    return nn.Sequential(*layers)


class PointGenerator(nn.Module):
    """(B, latent_dim) noise -> (B, dim) points; ReLU hidden layers as PacGAN's G (4 x 400 there)."""

    def __init__(self, latent_dim: int = 2, dim: int = 2, hidden_sizes: Sequence[int] = (128, 128, 128)) -> None:
        super().__init__()
        checks.point_generator(hidden_sizes=hidden_sizes)
        self.net = _mlp([latent_dim, *hidden_sizes, dim], negative_slope=0.0)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.net(noise)


class FourierFeatures(nn.Module):
    """(B, dim) -> (B, 2 * features): sin and cos of 2 pi x W for a fixed random W ~ N(0, scale^2) (Tancik et al.
    2020, "Fourier features let networks learn high frequency functions"): lets a small MLP draw borders as
    sharp as the mixture's modes. W is drawn once, from the global RNG, and kept in checkpoints."""

    def __init__(self, dim: int, features: int, scale: float) -> None:
        super().__init__()
        self.register_buffer("frequencies", scale * torch.randn(dim, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angle = 2 * math.pi * x @ self.frequencies  # (B, features)
        return torch.cat([angle.sin(), angle.cos()], dim=1)


class PointDiscriminator(nn.Module):
    """(B, dim) points / `input_scale` -> packs of `pack` -> (B/pack, pack*dim) -> MLP -> (B/pack,) logits.

    `input_scale` (the mixture's radius) brings every mixture to about [-1, 1] before D's first layer, so the
    grid (radius 4) meets the same initial D as the ring (radius 1). `fourier` > 0: the scaled points first
    become `fourier` random Fourier features (`FourierFeatures`, frequency std `fourier_scale`)."""

    def __init__(self, dim: int = 2, hidden_sizes: Sequence[int] = (128, 128), pack: int = 1,
                 negative_slope: float = 0.2, input_scale: float = 1.0, fourier: int = 0,
                 fourier_scale: float = 1.0) -> None:
        super().__init__()
        checks.point_discriminator(hidden_sizes=hidden_sizes, pack=pack, input_scale=input_scale, fourier=fourier,
                                   fourier_scale=fourier_scale)
        self.pack = int(pack)
        self.input_scale = float(input_scale)
        self.features = FourierFeatures(dim, fourier, fourier_scale) if fourier else nn.Identity()
        width = 2 * fourier if fourier else dim
        self.net = _mlp([width * self.pack, *hidden_sizes, 1], negative_slope)

    def forward(self, points: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """`c`: labels of a conditional variant; this unconditional D ignores them."""
        return self.net(pack_samples(self.features(points / self.input_scale), self.pack)).squeeze(-1)
