"""InfoGAN's MNIST networks (Chen et al. 2016, appendix C.1; openai/InfoGAN `regularized_gan.py`, network "mnist").

    G: z (74) -> FC 1024, BN, ReLU -> FC 7*7*128, BN, ReLU -> (B,128,7,7) -> deconv 4x4 s2 64, BN, ReLU
       -> (B,64,14,14) -> deconv 4x4 s2 C -> tanh -> (B,C,28,28)
    D: (B,C,28,28) -> conv 4x4 s2 64, LeakyReLU -> conv 4x4 s2 128, BN, LeakyReLU -> FC 1024, BN, LeakyReLU
       = the shared body (B, 1024); D's head FC 1 -> (B,) logits; Q's head FC 128, BN, LeakyReLU -> FC K + L

With no codes (`categorical=0, continuous=0`) D has no Q head: the paper's networks as a plain GAN's.
`width` (64) and `hidden` (1024) scale the channels and the FC widths (tests use tiny ones); the image size must
be a multiple of 4 (two stride-2 steps). The official code ends G with a Bernoulli mean (sigmoid) for [0, 1] pixels;
here tanh, as the project's images are in [-1, 1]. LeakyReLU's slope is 0.1, as the PyTorch ports use.
"""

import torch
from torch import nn

from gan.validate.networks import infogan_quarter

SLOPE = 0.1


class InfoGANGenerator(nn.Module):
    """(B, latent_dim) noise and codes -> (B, channels, image_size, image_size) images in [-1, 1]."""

    def __init__(self, latent_dim: int = 74, channels: int = 1, image_size: int = 28, width: int = 64,
                 hidden: int = 1024) -> None:
        super().__init__()
        s = infogan_quarter(image_size, "model.generator")
        self.start = (2 * width, s, s)  # (128, 7, 7) on MNIST
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(True),
            nn.Linear(hidden, 2 * width * s * s), nn.BatchNorm1d(2 * width * s * s), nn.ReLU(True),
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(True),  # 7 -> 14
            nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh(),  # 14 -> 28
        )

    def forward(self, noise: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.deconv(self.fc(noise.flatten(1)).view(len(noise), *self.start))


class InfoGANDiscriminator(nn.Module):
    """(B, C, H, W) images -> (B,) logits; `codes(x)` -> Q's categorical logits (B, K) and continuous means (B, L),
    from the same body."""

    def __init__(self, channels: int = 1, image_size: int = 28, width: int = 64, hidden: int = 1024,
                 q_hidden: int = 128, categorical: int = 10, continuous: int = 2) -> None:
        super().__init__()
        s = infogan_quarter(image_size, "model.discriminator")
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(SLOPE, True),  # 28 -> 14, no BN on the input layer
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(SLOPE, True),  # 14 -> 7
            nn.Flatten(),
            nn.Linear(2 * width * s * s, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(SLOPE, True),
        )
        self.head = nn.Linear(hidden, 1)
        self.categorical = int(categorical)
        codes = self.categorical + int(continuous)
        self.q_head = nn.Sequential(nn.Linear(hidden, q_hidden), nn.BatchNorm1d(q_hidden), nn.LeakyReLU(SLOPE, True),
                                    nn.Linear(q_hidden, codes)) if codes else None  # (B, 1024) -> (B, 12)
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None  # (input, body features) of the latest call

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        """The body's (B, hidden) features. The loop asks D for the logits and then Q for the codes of the same
        fakes, in one update: the body runs once for both (its graph is shared, and backward goes through it once)."""
        if self._last is not None and self._last[0] is images and torch.is_grad_enabled() == self._last[1].requires_grad:
            return self._last[1]
        features = self.body(images)
        self._last = (images, features)
        return features

    def forward(self, images: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self._features(images)).squeeze(-1)

    def codes(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.q_head is None:
            raise RuntimeError("this discriminator was built without codes (categorical=0, continuous=0): no Q head")
        q = self.q_head(self._features(images))
        return q[:, : self.categorical], q[:, self.categorical:]
