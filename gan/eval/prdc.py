"""Precision, recall, density and coverage of generated samples over a feature space.

Precision and recall (Kynkäänniemi et al. 2019) ask whether each fake lies on the real manifold and each real
on the fake one, a manifold being the union of balls reaching each point's k-th nearest neighbour. Density and
coverage (Naeem et al. 2020) count how many real balls hold each fake, and how many real balls hold any fake.
Sharp but collapsed samples: high precision, low recall and coverage; diverse but blurry: the reverse.
The same definitions as the authors' reference (github.com/clovaai/generative-evaluation-prdc, k=5 there),
in torch and in chunks, so 10,000 x 10,000 distances never sit in memory at once.
"""

import torch

CHUNK = 1000  # rows of a distance block: (1000, N) float64 is 80 MB for N = 10,000


def pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(n, D), (m, D) -> (n, m) Euclidean distances in float64."""
    a, b = a.double(), b.double()
    squared = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2 * a @ b.T
    return squared.clamp_(min=0).sqrt_()


def nearest_neighbour_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """(N, D) -> (N,): each point's distance to its k-th nearest neighbour, itself not counted."""
    if len(features) <= k:
        raise ValueError(f"{len(features)} samples: the {k}-th nearest neighbour needs at least {k + 1}")
    radii = [
        pairwise_distances(chunk, features).topk(k + 1, dim=1, largest=False).values[:, -1]  # self is the 0th
        for chunk in features.split(CHUNK)
    ]
    return torch.cat(radii)


def prdc(
    real: torch.Tensor,
    fake: torch.Tensor,
    k: int = 5,
    real_radii: torch.Tensor | None = None,
    fake_radii: torch.Tensor | None = None,
) -> dict[str, float]:
    """precision, recall, density, coverage of `fake` (M, D) against `real` (N, D).

    `real_radii` (N,), `fake_radii` (M,): each set's k-NN radii when already known (each depends on its set alone).
    """
    real_radii = nearest_neighbour_radii(real, k) if real_radii is None else real_radii.double()
    fake_radii = nearest_neighbour_radii(fake, k) if fake_radii is None else fake_radii.double()
    on_real_manifold = torch.zeros(len(fake), dtype=torch.bool)  # fake j inside some real ball
    real_balls_holding = torch.zeros(len(fake), dtype=torch.float64)  # how many real balls hold fake j
    real_on_fake_manifold, real_ball_covered = [], []
    for real_chunk, radii in zip(real.split(CHUNK), real_radii.split(CHUNK)):
        distances = pairwise_distances(real_chunk, fake)  # (chunk, M)
        inside = distances < radii[:, None]  # fake j in the ball of real i
        on_real_manifold |= inside.any(0)
        real_balls_holding += inside.sum(0)
        real_on_fake_manifold.append((distances < fake_radii[None, :]).any(1))
        real_ball_covered.append(distances.min(1).values < radii)
    return {
        "precision": on_real_manifold.double().mean().item(),
        "recall": torch.cat(real_on_fake_manifold).double().mean().item(),
        "density": (real_balls_holding.mean() / k).item(),
        "coverage": torch.cat(real_ball_covered).double().mean().item(),
    }
