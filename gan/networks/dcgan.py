"""DCGAN networks of the Tom & Jerry notebook ("8.1. GAN.ipynb", Tom & Jerry frames), sized by image size and width.

Every layer's channel count is a multiple of `width` (the original's 64). At 128 px and width 64 they are
the original's networks exactly:

    G: 128 -> 512 -> 256 -> 128 -> 64 -> 3    ConvTranspose2d k4 + BatchNorm + ReLU, tanh out
       (B,128,1,1) -> (B,512,4,4) -> (B,256,8,8) -> (B,128,16,16) -> (B,64,32,32) -> (B,3,128,128)
    D: 3 -> 64 -> 128 -> 256 -> 512 -> 1024 -> 1   Conv2d k4 s2 p1 + BatchNorm + LeakyReLU(0.2),
       then Conv2d k4 s1 p0 on the 4x4 map: (B,3,128,128) -> ... -> (B,1024,4,4) -> (B,) logits

The original's page hides G's output layer; its comments end at (B,64,32,32) and its D reads 128x128, so
the output layer upsamples x4 with a kernel-4 stride-4 transposed convolution. At 32 and 64 px the
output layer is the usual k4 s2 p1 and G has 3 or 4 hidden blocks, D 3 or 4 stride-2 convolutions.
At 28 px (MNIST-like data) the smallest map is 7x7 instead of 4x4: G's first block grows 1x1 to 7x7 (k7 s1 p0),
then 7 -> 14 -> 28; D halves 28 -> 14 -> 7 and its last convolution reads the 7x7 map (k7), the usual small
DCGAN for MNIST (G 2w-w, D w-2w channels).
All convolutions are bias-free, as in the Tom & Jerry notebook. D returns logits; the sigmoid lives in the loss.

With `num_classes` (model=dcgan model.conditional=true) both are conditional: G joins a learned label embedding
of `latent_dim` numbers to z, so its first layer sees (B, 2 * latent_dim, 1, 1) (`conditioning="concat"`), or
replaces each hidden BatchNorm by a conditional one, a scale and shift per class (`conditioning="cbn"`,
gan/networks/conditional.py); D is a projection discriminator
(Miyato & Koyama 2018): logit(x, y) = psi(phi(x)) + <embed(y), phi(x)>, with phi(x) D's last 4x4 feature map
summed over space, (B, C). Without it nothing is added, so the unconditional networks are built as before.
"""

import torch
from torch import nn

from gan.networks import with_spectral_norm
from gan.networks.conditional import ConditionalBatchNorm2d
from gan.networks.packing import pack_samples
from gan.validate import networks as checks
from gan.validate import options

IMAGE_SIZES = options.DCGAN_IMAGE_SIZES
# D's normalisation after each hidden convolution. BatchNorm (the original's) mixes the samples of a batch, which
# breaks per-sample penalties (gradient penalty, R1); layer norm is GroupNorm with one group (over C, H, W).
D_NORMS = options.table("model.discriminator.norm", options.D_NORMS, {
    "batch": nn.BatchNorm2d,
    "none": lambda channels: nn.Identity(),
    "layer": lambda channels: nn.GroupNorm(1, channels),
    "instance": lambda channels: nn.InstanceNorm2d(channels, affine=True),
})
G_CONDITIONING = options.G_CONDITIONING
MAX_G_BLOCKS = 4  # the original's G has four hidden blocks (512 ... 64) even at 128 px


def smallest_map(image_size: int) -> int:
    """Side of G's first and D's last feature map: 7 for 28 px (28 = 7 x 4), else 4."""
    return 7 if image_size == 28 else 4


class DCGANGenerator(nn.Module):
    """(B, latent_dim) normal noise -> (B, channels, image_size, image_size) images in [-1, 1]."""

    def __init__(self, latent_dim: int = 128, image_size: int = 64, channels: int = 3, width: int = 64,
                 num_classes: int | None = None, conditioning: str = "concat") -> None:
        super().__init__()
        checks.dcgan_generator(image_size=image_size, width=width, conditioning=conditioning, num_classes=num_classes)
        halvings = checks.dcgan_halvings(image_size, width, "model.generator")
        self.cbn = num_classes is not None and conditioning == "cbn"
        blocks = min(halvings, MAX_G_BLOCKS)
        widths = [width * 2 ** (blocks - 1 - i) for i in range(blocks)]  # e.g. [512, 256, 128, 64]
        layers: list[nn.Module] = []
        n_in = latent_dim * (2 if num_classes is not None and not self.cbn else 1)  # z, joined to its label's embedding
        base = smallest_map(image_size)
        for i, n_out in enumerate(widths):
            # The first block grows 1x1 to 4x4 (k4 s1 p0; 7x7 with k7 at 28 px); each next one doubles the size (k4 s2 p1).
            kernel, stride, padding = (base, 1, 0) if i == 0 else (4, 2, 1)
            layers += [
                nn.ConvTranspose2d(n_in, n_out, kernel_size=kernel, stride=stride, padding=padding, bias=False),
                ConditionalBatchNorm2d(n_out, _num(num_classes)) if self.cbn else nn.BatchNorm2d(n_out),
                nn.ReLU(True),
            ]
            n_in = n_out
        # The output layer makes up the rest of the size: x2 (k4 s2 p1) or, at 128 px, x4 (k4 s4 p0).
        scale = image_size // (base * 2 ** (blocks - 1))
        padding = 1 if scale == 2 else 0
        layers += [nn.ConvTranspose2d(n_in, channels, kernel_size=4, stride=scale, padding=padding, bias=False), nn.Tanh()]
        self.latent_dim = latent_dim
        self.net = nn.Sequential(*layers)
        # created last: the unconditional init draws are unchanged
        self.embed = _embedding(num_classes, latent_dim) if not self.cbn else None

    def forward(self, noise: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """`c`: (B,) labels, used when the G is conditional (`num_classes`) and ignored otherwise."""
        z = noise.reshape(len(noise), self.latent_dim)
        if self.embed is not None:
            z = torch.cat([z, self.embed(_labels(c))], dim=1)  # (B, 128) -> (B, 256)
        x = z.reshape(len(z), -1, 1, 1)  # (B, 128) -> (B, 128, 1, 1)
        if not self.cbn:
            return self.net(x)
        labels = _labels(c)
        for layer in self.net:
            x = layer(x, labels) if isinstance(layer, ConditionalBatchNorm2d) else layer(x)
        return x


class DCGANDiscriminator(nn.Module):
    """(B, channels, image_size, image_size) images -> (B,) logits (larger means real).

    `norm` replaces the original's BatchNorm (see D_NORMS); `spectral_norm` normalises every convolution.
    With `pack=m` (PacGAN) m images are joined along channels: (B, C, H, W) -> (B/m, m*C, H, W) -> (B/m,).
    """

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 64, norm: str = "batch",
                 spectral_norm: bool = False, pack: int = 1, num_classes: int | None = None) -> None:
        super().__init__()
        checks.dcgan_discriminator(image_size=image_size, width=width, norm=norm, pack=pack, num_classes=num_classes)
        halvings = checks.dcgan_halvings(image_size, width, "model.discriminator")
        self.pack = int(pack)
        layers: list[nn.Module] = []
        n_in = channels * self.pack
        for i in range(halvings):  # each halves the size: 128 -> 64 -> ... -> 4
            n_out = width * 2**i
            layers += [
                nn.Conv2d(n_in, n_out, kernel_size=4, stride=2, padding=1, bias=False),
                D_NORMS[norm](n_out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            n_in = n_out
        last = smallest_map(image_size)  # (B, C, 4, 4) -> (B, 1, 1, 1); at 28 px (B, C, 7, 7) -> (B, 1, 1, 1)
        layers.append(nn.Conv2d(n_in, 1, kernel_size=last, stride=1, padding=0, bias=False))
        self.net = with_spectral_norm(nn.Sequential(*layers)) if spectral_norm else nn.Sequential(*layers)
        # The projection's class embeddings, one C-vector per class (spectrally normalised with the rest, as SNGAN).
        self.embed = _embedding(num_classes, n_in)
        if self.embed is not None:
            # Small, as DCGAN's weights: with torch's N(0, 1) init the projection of a sum over 4x4 positions and
            # hundreds of channels starts at logits of std ~56 (32 px MNIST, width 32), D saturates at once and
            # G learns nothing (measured: that run collapsed to noise, class_accuracy 0.10; docs/conditional.md).
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if self.embed is not None and spectral_norm:
            torch.nn.utils.parametrizations.spectral_norm(self.embed)

    def forward(self, images: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """`c`: (B,) labels, used when the D is conditional (`num_classes`) and ignored otherwise."""
        if self.embed is None:
            return self.net(pack_samples(images, self.pack)).flatten()
        features = self.net[:-1](images)  # (B, C, 4, 4): phi(x) before the last convolution
        projection = (self.embed(_labels(c)) * features.sum((2, 3))).sum(1)  # <embed(y), phi(x)>: (B, C) -> (B,)
        return self.net[-1](features).flatten() + projection


def _embedding(num_classes: int | None, dim: int) -> nn.Embedding | None:
    """(B,) labels -> (B, dim) learned vectors; None for an unconditional network."""
    if num_classes is None:
        return None
    checks.class_count(num_classes)
    return nn.Embedding(int(num_classes), dim)


def _num(num_classes) -> int:
    _embedding(num_classes, 1)  # the same check: 2 or more classes
    return int(num_classes)


def _labels(c: torch.Tensor | None) -> torch.Tensor:
    if c is None:
        raise ValueError("this network is conditional: call it with labels, net(x, c)")
    return c.long()
