"""Networks of the 1-D Gaussian GAN ("GANs in 50 lines"): the original's G and D, and our recipe's.

One discriminator sample is a whole set of `sample_size` draws (500 in the original), which D judges
through a preprocess; that is how the original lets D see the distribution rather than single numbers.
"""

import math

import torch
from torch import nn

from gan.errors import ConfigError
from gan.networks import with_spectral_norm
from gan.networks.packing import pack_samples
from gan.validate import networks as checks
from gan.validate import options

ACTIVATIONS = options.table("model.*.activation", options.ACTIVATIONS, {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU,
                                                               "leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": nn.ELU})


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
PREPROCESS = options.table("model.discriminator.preprocess", options.PREPROCESS, {
    "moments": (moments, lambda n: 4),
    "raw": (lambda x: x, lambda n: n),
    "variances": (lambda x: _with_diffs(x, 2.0), lambda n: 2 * n),
    "diffs": (lambda x: _with_diffs(x, 1.0), lambda n: 2 * n),
    "sorted": (sorted_set, lambda n: n),
})


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
                 tails_from: float | None = None) -> None:
        super().__init__()
        checks.gaussian_generator(hidden_sizes=hidden_sizes, activation=activation, tails_from=tails_from,
                                 noise_dim=noise_dim)
        self.net = _mlp([noise_dim, *hidden_sizes, 1], activation, "model.generator.activation")
        # A bounded network fed bounded noise cannot go beyond its value at the noise's edges: its outermost draws
        # pile up there. With `tails_from=t`, a uniform draw u is read as the normal quantile z = Phi^-1(u), and
        # beyond |z| = t (2.3 % of draws each side for t = 2) G continues in a straight line in z, with the slope of
        # its own body between |z| = t - 1 and t: the body, which the critic sees most of, sets the tails. The tail
        # draws move where the line starts (G at |z| = t), not its slope: their noisy pull on the slope bent the
        # body between |z| = 1 and 2 (median KS 0.015 against 0.012 on 19 fresh seeds; docs/gaussian.md).
        self.tails_from = tails_from
        if tails_from is not None:
            knots = torch.tensor([-tails_from, 1 - tails_from, tails_from - 1, tails_from], dtype=torch.float64)
            self.register_buffer("knots", (0.5 * (1 + torch.erf(knots / math.sqrt(2)))).float().view(4, 1),
                                 persistent=False)  # the uniform draws at z = -t, -t + 1, t - 1, t

    def check_noise(self, noise: str) -> None:
        """`model.noise` must be what this G reads: the tail path reads each draw as a uniform number."""
        if self.tails_from is not None and noise != "uniform":
            raise ConfigError(f"model.generator.tails_from reads each noise draw as a uniform number, but model.noise="
                              f"{noise}; set model.noise=uniform, or model.generator.tails_from=null.")

    def forward(self, noise: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """(B, N, noise_dim) -> (B, N). `c`: labels of a conditional variant; this unconditional G ignores them."""
        out = self.net(noise).squeeze(-1)
        if self.tails_from is None:
            return out
        z = math.sqrt(2) * torch.erfinv((2 * noise.squeeze(-1) - 1).clamp(-1 + 1e-7, 1 - 1e-7))  # (B, N) quantiles
        low, low_in, high_in, high = self.net(self.knots).squeeze(-1)  # G at z = -t, -t + 1, t - 1, t
        t = self.tails_from
        out = torch.where(z > t, high + (z - t) * (high - high_in).detach(), out)  # slope: the body's, as it is
        return torch.where(z < -t, low + (z + t) * (low_in - low).detach(), out)


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
