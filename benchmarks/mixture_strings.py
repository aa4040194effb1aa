"""How much of a continuous G's output must lie between the modes, for a given stretch across the gaps.

G maps connected 2-D N(0, I) noise continuously, so its samples are one connected set: neighbouring modes are
joined through the gap between their 3-sigma discs. Split the noise plane into one cell per mode (pie slices
for the ring, a k-means partition for the grid); if G crosses each gap of length `gap` at stretch L (output
distance per unit of noise), the noise within gap / (2L) of a cell boundary lands between the modes. Prints
that share for a few L (numpy only, no training; docs/mixtures.md).

    python -m benchmarks.mixture_strings
"""

import numpy as np

SETTINGS = {"ring": (8, 2 * np.sin(np.pi / 8) - 2 * 3 * 0.01), "grid": (25, 2.0 - 2 * 3 * 0.05)}  # modes, gap


def cells(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """(k, 2) cell centres: k equal pie slices, or k-means on the noise (near-equal mass, short boundaries)."""
    if k == 8:
        angle = 2 * np.pi * np.arange(k) / k + np.pi / k
        return np.stack([np.cos(angle), np.sin(angle)], 1)
    centres = z[rng.choice(len(z), k, replace=False)].copy()
    for _ in range(50):
        label = ((z[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        centres = np.stack([z[label == i].mean(0) for i in range(k)])
    return centres


def boundary_distance(z: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(n,) distance of each noise draw to the boundary of its Voronoi cell (nearest vs second-nearest centre)."""
    d2 = ((z[:, None] - centres[None]) ** 2).sum(-1)  # (n, k)
    order = np.argsort(d2, 1)
    rows = np.arange(len(z))
    first, second = order[:, 0], order[:, 1]
    return (d2[rows, second] - d2[rows, first]) / (2 * np.linalg.norm(centres[second] - centres[first], axis=1))


def main() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((200_000, 2))
    stretches = (5, 10, 20, 50, 100, 200)
    print("| data (gap) | " + " | ".join(f"L={s}" for s in stretches) + " |")
    print("|---" * (len(stretches) + 1) + "|")
    for name, (k, gap) in SETTINGS.items():
        distance = boundary_distance(z, cells(z, k, rng))
        shares = [100 * (distance < gap / (2 * s)).mean() for s in stretches]
        print(f"| {name} ({gap:.2f}) | " + " | ".join(f"{x:.1f} %" for x in shares) + " |")


if __name__ == "__main__":
    main()
