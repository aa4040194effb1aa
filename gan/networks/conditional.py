"""Conditional BatchNorm (de Vries et al. 2017; Miyato & Koyama 2018's generator): BatchNorm without its own
scale and shift, then a scale and shift looked up per class. A conditional DCGAN generator uses it in place of
each hidden BatchNorm with `model.generator.conditioning=cbn`."""

import torch
from torch import nn


class ConditionalBatchNorm2d(nn.Module):
    """(B, C, H, W) features and (B,) labels -> normalised features, scaled and shifted by the label's (C,) pair."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.scale.weight)  # every class starts as plain BatchNorm's identity affine
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        scale, shift = self.scale(c), self.shift(c)  # (B, C) each
        return self.norm(x) * scale[:, :, None, None] + shift[:, :, None, None]
