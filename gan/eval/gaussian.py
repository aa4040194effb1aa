"""How close a 1-D sample is to N(mean, std): moments, Kolmogorov-Smirnov and Wasserstein-1."""

import math

import torch


def sample_moments(x: torch.Tensor) -> dict[str, float]:
    """Mean, population std, skew and excess kurtosis of a 1-D sample."""
    x = x.double().flatten()
    mean = x.mean()
    diffs = x - mean
    std = diffs.pow(2).mean().sqrt()
    z = diffs / std
    return {
        "mean": mean.item(),
        "std": std.item(),
        "skew": z.pow(3).mean().item(),
        "kurtosis": (z.pow(4).mean() - 3.0).item(),
    }


def ks_normal(x: torch.Tensor, mean: float, std: float) -> float:
    """Kolmogorov-Smirnov statistic of the sample against N(mean, std): sup |F_n - Phi|."""
    x, _ = x.double().flatten().sort()
    n = x.numel()
    cdf = torch.distributions.Normal(mean, std).cdf(x)
    ranks = torch.arange(1, n + 1, dtype=torch.float64, device=x.device)
    return torch.maximum(ranks / n - cdf, cdf - (ranks - 1) / n).max().item()


def w1_normal(x: torch.Tensor, mean: float, std: float) -> float:
    """Wasserstein-1 distance between the sample's empirical law and N(mean, std).

    Exact for the empirical law: integral of |F_n - Phi|, with Phi integrated in closed form between the
    sorted sample points (the antiderivative of Phi(t) is (t-m) Phi(t) + s^2 phi(t)).
    """
    x, _ = x.double().flatten().sort()
    n = x.numel()
    normal = torch.distributions.Normal(mean, std)

    def phi_integral(t: torch.Tensor) -> torch.Tensor:  # integral of Phi from -inf to t
        return (t - mean) * normal.cdf(t) + std**2 * normal.log_prob(t).exp()

    levels = torch.arange(n + 1, dtype=torch.float64, device=x.device) / n  # F_n on each gap
    edges = torch.cat([x.new_tensor([-math.inf]), x, x.new_tensor([math.inf])])
    total = 0.0
    # Below x_1: integral of Phi; above x_n: integral of 1 - Phi; in between F_n is a constant level.
    total += phi_integral(x[:1]).item()
    total += (std**2 * normal.log_prob(x[-1:]).exp() - (x[-1:] - mean) * (1 - normal.cdf(x[-1:]))).item()
    a, b, level = edges[1:-2], edges[2:-1], levels[1:-1]
    # On [a, b] the integral of |level - Phi| splits where Phi crosses level (at the level's quantile q).
    q = normal.icdf(level.clamp(1e-300, 1 - 1e-16)).clamp(min=a, max=b)
    left = level * (q - a) - (phi_integral(q) - phi_integral(a))
    right = (phi_integral(b) - phi_integral(q)) - level * (b - q)
    total += (left + right).sum().item()
    return total


def w1_samples(u: torch.Tensor, v: torch.Tensor) -> float:
    """Wasserstein-1 distance between two equal-size 1-D samples: mean gap between sorted values."""
    if u.numel() != v.numel():
        raise ValueError("w1_samples needs samples of equal size")
    return (u.double().flatten().sort().values - v.double().flatten().sort().values).abs().mean().item()


def gaussian_report(x: torch.Tensor, mean: float, std: float) -> dict[str, float]:
    """Everything we report for a generated 1-D sample against its target N(mean, std)."""
    m = sample_moments(x)
    return {
        "gen_mean": m["mean"],
        "gen_std": m["std"],
        "gen_skew": m["skew"],
        "gen_kurtosis": m["kurtosis"],
        "mean_error": abs(m["mean"] - mean),
        "std_error": abs(m["std"] - std),
        "skew_error": abs(m["skew"]),  # a Gaussian's skew and excess kurtosis are 0
        "kurtosis_error": abs(m["kurtosis"]),
        "ks": ks_normal(x, mean, std),
        "w1": w1_normal(x, mean, std),
    }
