"""Seed 004's fully connected GAN ("GANs from scratch", vanilla GAN on MNIST).

D: 784 -> 1024 -> 512 -> 256 -> 1, LeakyReLU(0.2) and Dropout(0.3) after each hidden layer.
G: 100 -> 256 -> 512 -> 1024 -> 784, LeakyReLU(0.2), tanh out, reshaped to an image.
The seed ends D with a sigmoid for `BCELoss`; here D returns the logit and the sigmoid lives in the
loss (`gan.losses`), the same function computed stably. Image shapes come from the data config.
"""

from collections.abc import Sequence

import torch
from torch import nn

from gan.errors import ConfigError
from gan.networks import with_spectral_norm
from gan.networks.packing import check_pack, pack_samples


def _check_sizes(key: str, sizes: Sequence[int]) -> list[int]:
    sizes = [int(s) for s in sizes]
    if not sizes or min(sizes) < 1:
        raise ConfigError(f"{key}={sizes}: give one or more positive layer widths, e.g. [1024, 512, 256].")
    return sizes


class MLPDiscriminator(nn.Module):
    """(B, C, H, W) images -> flattened (B, C*H*W) -> hidden layers -> (B,) logits; `spectral_norm` on every layer.

    With `pack=m` (PacGAN) m flattened images are joined: (B, C*H*W) -> (B/m, m*C*H*W) -> (B/m,) logits.
    """

    def __init__(
        self,
        channels: int,
        image_size: int,
        hidden_sizes: Sequence[int] = (1024, 512, 256),
        negative_slope: float = 0.2,
        dropout: float = 0.3,
        spectral_norm: bool = False,
        pack: int = 1,
    ) -> None:
        super().__init__()
        self.pack = check_pack(pack)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.discriminator.dropout={dropout}: use a value in [0, 1), e.g. 0.3 as the seed.")
        widths = [self.pack * channels * image_size * image_size, *_check_sizes("model.discriminator.hidden_sizes", hidden_sizes)]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(negative_slope), nn.Dropout(dropout)]
        layers.append(nn.Linear(widths[-1], 1))
        self.net = with_spectral_norm(nn.Sequential(*layers)) if spectral_norm else nn.Sequential(*layers)

    def forward(self, images: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """`c`: labels of a conditional variant; this unconditional D ignores them."""
        return self.net(pack_samples(images.flatten(1), self.pack)).squeeze(-1)  # (B, 784) -> (B, 1) -> (B,)


class MLPGenerator(nn.Module):
    """(B, latent_dim) noise -> hidden layers -> tanh -> (B, C, H, W) images in (-1, 1)."""

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        image_size: int,
        hidden_sizes: Sequence[int] = (256, 512, 1024),
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        if int(latent_dim) < 1:
            raise ConfigError(f"model.generator.latent_dim={latent_dim}: must be a positive integer, e.g. 100.")
        self.image_shape = (channels, image_size, image_size)
        widths = [latent_dim, *_check_sizes("model.generator.hidden_sizes", hidden_sizes)]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(negative_slope)]
        layers += [nn.Linear(widths[-1], channels * image_size * image_size), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.net(noise).view(len(noise), *self.image_shape)  # (B, 784) -> (B, 1, 28, 28)
