"""Networks of the 1-D Gaussian GAN ("GANs in 50 lines", seeds 000, 001, 003).

One discriminator sample is a whole set of `sample_size` draws (500 in the seed), which D judges
through a preprocess; that is how the seed lets D see the distribution rather than single numbers.
"""

import torch
from torch import nn

from gan.networks import checks, with_spectral_norm
from gan.networks.packing import pack_samples

ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": nn.ELU}


def moments(x: torch.Tensor) -> torch.Tensor:
    """(B, N) -> (B, 4): mean, std, skew and excess kurtosis of each set, as the original's `get_moments`."""
    mean = x.mean(dim=1, keepdim=True)
    diffs = x - mean
    std = diffs.pow(2).mean(dim=1, keepdim=True).sqrt()
    z = diffs / std
    skew = z.pow(3).mean(dim=1, keepdim=True)
    kurtosis = z.pow(4).mean(dim=1, keepdim=True) - 3.0  # excess kurtosis: 0 for a Gaussian
    return torch.cat([mean, std, skew, kurtosis], dim=1)


def _with_diffs(x: torch.Tensor, exponent: float) -> torch.Tensor:
    """(B, N) -> (B, 2N): the draws, then (draw - set mean) ** exponent, as the original's `decorate_with_diffs`."""
    return torch.cat([x, (x - x.mean(dim=1, keepdim=True)).pow(exponent)], dim=1)


def sorted_set(x: torch.Tensor) -> torch.Tensor:
    """(B, N) -> (B, N): each set in ascending order, its N order statistics (an empirical quantile function).

    Moments cannot tell a spiky or flat-shouldered set from a Gaussian; the sorted set shows D the whole shape,
    and sorting passes gradients to each draw at its rank, so G learns where every quantile belongs.
    """
    return x.sort(dim=1).values


# name -> (preprocess, D input width as a function of the set size); the original's four choices, then ours.
PREPROCESS = {
    "moments": (moments, lambda n: 4),
    "raw": (lambda x: x, lambda n: n),
    "variances": (lambda x: _with_diffs(x, 2.0), lambda n: 2 * n),
    "diffs": (lambda x: _with_diffs(x, 1.0), lambda n: 2 * n),
    "sorted": (sorted_set, lambda n: n),
}


def _activation(name: str, key: str) -> nn.Module:
    checks.one_of(name, checks.ACTIVATIONS, key)
    return ACTIVATIONS[name]()


def _mlp(widths: list[int], activation: str, key: str) -> nn.Sequential:
    """Linear layers through `widths` with the activation between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(_activation(activation, key))
    return nn.Sequential(*layers)


class GaussianGenerator(nn.Module):
    """Maps each noise draw to one sample, independently: (B, N, noise_dim) -> (B, N).

    The original's G is 1 -> 5 -> 5 -> 1 with tanh: `hidden_sizes=[5, 5]`, `activation=tanh`.
    """

    def __init__(self, noise_dim: int = 1, hidden_sizes: list[int] = (5, 5), activation: str = "tanh",
                 linear_path: bool = False) -> None:
        super().__init__()
        checks.gaussian_generator(hidden_sizes=hidden_sizes, activation=activation)
        self.net = _mlp([noise_dim, *hidden_sizes, 1], activation, "model.generator.activation")
        # A linear map from noise to output beside the network: a bounded activation saturates, so without it the
        # output cannot go further out than its value at the noise's edges; with normal noise, this path carries the
        # tails and the network only bends the body. Its net starts at zero: G starts as a plain affine map.
        self.linear = nn.Linear(noise_dim, 1) if linear_path else None
        if linear_path:
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)

    def forward(self, noise: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """`c`: labels of a conditional variant; this unconditional G ignores them."""
        out = self.net(noise)
        if self.linear is not None:
            out = out + self.linear(noise)
        return out.squeeze(-1)


class GaussianDiscriminator(nn.Module):
    """Judges each set of draws as one sample: (B, N) -> preprocess -> (B, F) -> MLP -> (B,) logits.

    With `pack=m` (PacGAN) the features of m sets are joined: (B, F) -> (B/m, m*F) -> (B/m,) logits.

    The original's D is F -> 10 -> 10 -> 1 with sigmoid activations and a sigmoid output; here the last
    sigmoid moves into the loss (`binary_cross_entropy_with_logits`), the same function, computed stably.
    """

    def __init__(
        self,
        sample_size: int,
        preprocess: str = "moments",
        hidden_sizes: list[int] = (10, 10),
        activation: str = "sigmoid",
        spectral_norm: bool = False,
        pack: int = 1,
    ) -> None:
        super().__init__()
        checks.gaussian_discriminator(preprocess=preprocess, hidden_sizes=hidden_sizes, activation=activation, pack=pack)
        self.pack = int(pack)
        self.preprocess, input_width = PREPROCESS[preprocess]
        width = self.pack * input_width(sample_size)  # packing joins the features of `pack` sets
        self.net = _mlp([width, *hidden_sizes, 1], activation, "model.discriminator.activation")
        if spectral_norm:  # each layer 1-Lipschitz (Miyato et al. 2018)
            with_spectral_norm(self.net)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """`c`: labels of a conditional variant; this unconditional D ignores them."""
        # Set statistics (a 4th power over a set that G has squeezed narrow) overflow or lose all precision in
        # 16 bits: under mixed precision they are computed in float32, and only the MLP runs in 16 bits.
        if torch.is_autocast_enabled(x.device.type):  # checked first: entering a context costs µs on every call
            with torch.autocast(x.device.type, enabled=False):
                features = self.preprocess(x.float())
        else:
            features = self.preprocess(x)
        return self.net(pack_samples(features, self.pack)).squeeze(-1)  # (B, F) -> (B/pack, pack*F) -> (B/pack,)
