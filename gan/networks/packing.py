"""Packing (PacGAN, Lin et al. 2018): the discriminator judges `pack` samples joined together.

Consecutive samples of a batch are joined along the feature or channel axis, so D sees m samples at
once and a generator that drops modes makes tell-tale packs of look-alikes:

    (B, F)       -> (B/m, m*F)        points, flattened images, a 1-D GAN's set features
    (B, C, H, W) -> (B/m, m*C, H, W)  images for a convolutional D

pack=1 changes nothing. Real and fake batches are packed alike, so each pack is all real or all fake.
"""

import torch

from gan.errors import ConfigError


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """(B, C, ...) -> (B/pack, pack*C, ...): every `pack` consecutive samples joined along axis 1."""
    if pack == 1:
        return x
    if len(x) % pack:
        raise ConfigError(
            f"model.pack={pack}: a batch of {len(x)} samples does not split into packs of {pack}; "
            "use a batch size that is a multiple of the pack."
        )
    return x.reshape(len(x) // pack, pack * x.shape[1], *x.shape[2:])
