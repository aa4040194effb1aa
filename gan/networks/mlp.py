"""The MNIST notebook's fully connected GAN ("GANs from scratch", vanilla GAN on MNIST).

D: 784 -> 1024 -> 512 -> 256 -> 1, LeakyReLU(0.2) and Dropout(0.3) after each hidden layer (its masks drawn as
uniform numbers >= p on the CPU, `dropout_masks="uniform"`: the same distribution, 2.6x faster than torch's
`bernoulli_`; "bernoulli" draws torch's own, as the MNIST notebook does).
G: 100 -> 256 -> 512 -> 1024 -> 784, LeakyReLU(0.2), tanh out, reshaped to an image.
The MNIST notebook ends D with a sigmoid for `BCELoss`; here D returns the logit and the sigmoid lives in the
loss (`gan.losses`), the same function computed stably. Image shapes come from the data config.

With `num_classes`, both become Mirza & Osindero's (2014) conditional MLPs: a learned label embedding of
`embed_dim` numbers (default `num_classes`: their one-hot y, made trainable) is joined to z in G and to the
flattened image in D.
Without it, nothing is added: the unconditional networks are built (and initialised) exactly as before.
"""

from collections.abc import Sequence

import torch
from torch import nn

from gan.networks import with_spectral_norm
from gan.networks.packing import pack_samples
from gan.validate import networks as checks
from gan.validate import options


def _label_embedding(num_classes: int | None, embed_dim: int | None) -> nn.Embedding | None:
    """(B,) labels -> (B, embed_dim) learned codes (embed_dim None: num_classes numbers, the size of the paper's
    one-hot y); None for an unconditional network."""
    if num_classes is None:
        return None
    checks.class_count(num_classes)
    return nn.Embedding(int(num_classes), int(embed_dim if embed_dim is not None else num_classes))


def _join(inputs: torch.Tensor, embed: nn.Embedding | None, c: torch.Tensor | None) -> torch.Tensor:
    """(B, n) inputs, joined to the label codes when conditional: (B, n) -> (B, n + num_classes)."""
    if embed is None:
        return inputs
    if c is None:
        raise ValueError("this network is conditional: call it with labels, net(x, c)")
    return torch.cat([inputs, embed(c.long())], dim=1)


class UniformDropout(nn.Dropout):
    """`nn.Dropout` whose mask on the CPU is `uniform >= p`: each unit kept with probability 1 - p and scaled by
    1 / (1 - p), the same distribution as torch's mask, drawn 2.6x faster (torch's CPU `bernoulli_` is one slow
    thread; docs/speed.md). Other numbers than torch's draws, so another, equally likely run. On a GPU torch's
    fused kernel is the faster one and is used."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.device.type != "cpu":
            return super().forward(x)
        return x * torch.rand_like(x).ge_(self.p).mul_(1.0 / (1.0 - self.p))


DROPOUT = options.table("model.discriminator.dropout_masks", options.DROPOUT_MASKS,
                        {"uniform": UniformDropout, "bernoulli": nn.Dropout})


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
        dropout_masks: str = "uniform",
        spectral_norm: bool = False,
        pack: int = 1,
        num_classes: int | None = None,
        embed_dim: int | None = None,
    ) -> None:
        super().__init__()
        checks.mlp_discriminator(hidden_sizes=hidden_sizes, dropout=dropout, dropout_masks=dropout_masks, pack=pack,
                                 num_classes=num_classes, embed_dim=embed_dim)
        self.pack = int(pack)
        # each sample's label code, joined before packing
        extra = 0 if num_classes is None else int(embed_dim if embed_dim is not None else num_classes)
        widths = [self.pack * (channels * image_size * image_size + extra),
                  *map(int, hidden_sizes)]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(negative_slope), DROPOUT[dropout_masks](dropout)]
        layers.append(nn.Linear(widths[-1], 1))
        self.net = with_spectral_norm(nn.Sequential(*layers)) if spectral_norm else nn.Sequential(*layers)
        # created last: the unconditional init draws are unchanged
        self.embed = _label_embedding(num_classes, embed_dim)

    def forward(self, images: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """`c`: (B,) labels, used when the D is conditional (`num_classes`) and ignored otherwise."""
        joined = _join(images.flatten(1), self.embed, c)  # (B, 784[+K])
        return self.net(pack_samples(joined, self.pack)).squeeze(-1)  # -> (B/pack, pack*(784[+K])) -> (B/pack,)


class MLPGenerator(nn.Module):
    """(B, latent_dim) noise -> hidden layers -> tanh -> (B, C, H, W) images in (-1, 1)."""

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        image_size: int,
        hidden_sizes: Sequence[int] = (256, 512, 1024),
        negative_slope: float = 0.2,
        num_classes: int | None = None,
        embed_dim: int | None = None,
    ) -> None:
        super().__init__()
        checks.mlp_generator(latent_dim=latent_dim, hidden_sizes=hidden_sizes, num_classes=num_classes,
                             embed_dim=embed_dim)
        self.image_shape = (channels, image_size, image_size)
        extra = 0 if num_classes is None else int(embed_dim if embed_dim is not None else num_classes)
        widths = [latent_dim + extra, *map(int, hidden_sizes)]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(negative_slope)]
        layers += [nn.Linear(widths[-1], channels * image_size * image_size), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.embed = _label_embedding(num_classes, embed_dim)

    def forward(self, noise: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """`c`: (B,) labels, used when the G is conditional (`num_classes`) and ignored otherwise."""
        # (B, latent_dim[+K]) -> (B, 784) -> (B, 1, 28, 28)
        return self.net(_join(noise, self.embed, c)).view(len(noise), *self.image_shape)
