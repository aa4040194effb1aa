"""Mode collapse on 2-D mixtures, measured as PacGAN does (fjxmlzn/PacGAN `pacgan/extensions.py`, MetricLogger).

A generated point is high quality when it lies within `threshold` (3) standard deviations of its nearest
centre; modes covered counts the modes with at least one high-quality point; reverse KL is KL(p || uniform)
for p the share of high-quality points on each mode. Even an exact sample of the mixture has only
P(chi2_2 < 9) = 1 - exp(-4.5) = 98.9 % of its points high quality: that is the ceiling.
"""

import math

import torch

HIGH_QUALITY_CEILING = 1.0 - math.exp(-4.5)  # a 2-D Gaussian draw within 3 sigma of its centre


def mixture_report(points: torch.Tensor, centres: torch.Tensor, sigma: float, threshold: float = 3.0) -> dict[str, float]:
    """{modes, high_quality, reverse_kl} of (n, 2) `points` against the mixture's (k, 2) `centres`."""
    points, centres = points.double().cpu(), centres.double().cpu()
    distance, nearest = torch.cdist(points, centres).min(dim=1)  # (n,) distance to, and index of, the nearest centre
    good = distance < threshold * sigma
    counts = torch.bincount(nearest[good], minlength=len(centres)).double()  # (k,) high-quality points per mode
    k = len(centres)
    if counts.sum() > 0:
        p = counts / counts.sum()
        reverse_kl = (p[p > 0] * (p[p > 0] * k).log()).sum().item()
    else:  # no point near any mode: as far from uniform as one mode alone
        reverse_kl = math.log(k)
    return {
        "modes": float((counts > 0).sum()),
        "high_quality": good.double().mean().item(),
        "reverse_kl": reverse_kl,
    }
