"""Sample quality of image generators, offline, from feature sets: FID, KID, and how evenly samples spread
over classes; precision/recall/density/coverage are in gan/metrics/prdc.py.

The features are those of the project's own classifier (gan/features.py), computed by `gan.evaluation`.
Standard FID over Inception needs torch-fidelity and weights, so it is only ever built from a file the user
names (`InceptionFID`); nothing is downloaded.
"""

from pathlib import Path

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE

from gan.errors import ConfigError, DataError


class ClassifierFeatures(nn.Module):
    """A trained classifier's feature layer, frozen and always in eval mode.

    (B, C, S, S) in [-1, 1] -> features (B, num_features); `logits` maps features to (B, num_classes).
    `image_shape` (C, S, S): what the classifier was trained on; other images are refused.
    """

    def __init__(self, classifier: nn.Module, image_shape: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.classifier = classifier.eval().requires_grad_(False)
        self.num_features, self.num_classes = int(classifier.num_features), int(classifier.num_classes)
        self.image_shape = tuple(image_shape) if image_shape else None

    def train(self, mode: bool = True) -> "ClassifierFeatures":
        return super().train(False)  # Lightning toggles modes; the features must not change

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = self._cropped(images)
        if self.image_shape and tuple(images.shape[1:]) != self.image_shape:
            raise ConfigError(
                f"the feature classifier was trained on {self.image_shape} images, these are {tuple(images.shape[1:])}: "
                "point model.feature_extractor at a classifier built on this data (`python -m gan.features data=...`)."
            )
        return self.classifier.features(images.float())

    def _cropped(self, images: torch.Tensor) -> torch.Tensor:
        """Images padded around the classifier's size (MNIST at data.image_size=32) cropped back to it."""
        if not self.image_shape or images.dim() != 4 or images.shape[1] != self.image_shape[0]:
            return images
        margin = (images.shape[-1] - self.image_shape[-1]) // 2
        if images.shape[-1] != images.shape[-2] or margin <= 0 or images.shape[-1] != self.image_shape[-1] + 2 * margin:
            return images
        return images[..., margin:-margin, margin:-margin]

    @torch.no_grad()
    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier.head(features.to(next(self.classifier.parameters()).dtype))


def class_entropy(counts: torch.Tensor) -> float:
    """Entropy (nats) of the class histogram; log(K) when every class is equally frequent, 0 for one class."""
    p = counts.double() / counts.sum()
    return max(0.0, -(p[p > 0] * p[p > 0].log()).sum().item())  # max: no "-0.0" for a single class


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID between two feature sets (N, D), (M, D): |mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^1/2).

    In float64 with unbiased covariances, the trace of the root from the eigenvalues of S_r S_f (as torchmetrics).
    """
    (mu_r, cov_r), (mu_f, cov_f) = _moments(real), _moments(fake)
    root_trace = torch.linalg.eigvals(cov_r @ cov_f).sqrt().real.sum()
    return ((mu_r - mu_f).square().sum() + cov_r.trace() + cov_f.trace() - 2 * root_trace).item()


def _moments(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = features.double()
    mean = x.mean(0)
    centred = x - mean
    return mean, centred.T @ centred / (len(x) - 1)  # (D,), (D, D)


def kernel_distance(
    real: torch.Tensor, fake: torch.Tensor, subsets: int = 10, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID: the unbiased MMD^2 with the cubic kernel (x.y / D + 1)^3, mean and std over random subsets.

    Subsets are drawn from a generator seeded with `seed`, so the global RNG is never moved.
    """
    generator = torch.Generator().manual_seed(seed)
    size = min(subset_size, len(real), len(fake))
    scores = []
    for _ in range(subsets):
        x = real[torch.randperm(len(real), generator=generator)[:size]].double()
        y = fake[torch.randperm(len(fake), generator=generator)[:size]].double()
        scores.append(_mmd2(x, y))
    scores = torch.stack(scores)
    return scores.mean().item(), scores.std(unbiased=False).item()


def _mmd2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 of two equal-size samples under the cubic polynomial kernel (KID's)."""
    def kernel(a, b):
        return (a @ b.T / a.shape[1] + 1) ** 3

    m = len(x)
    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return within - 2 * k_xy.sum() / m**2


def class_spread(predicted: torch.Tensor, num_classes: int) -> dict[str, float]:
    """class_entropy and mode_coverage of predicted class indices (N,)."""
    counts = torch.bincount(predicted.cpu(), minlength=num_classes)
    share = counts.double() / max(int(counts.sum()), 1)
    return {
        "class_entropy": class_entropy(counts),
        # classes given at least half their uniform share: K for an even spread, fewer when modes drop
        "mode_coverage": int((share >= 0.5 / num_classes).sum()),
    }


def class_accuracy(predicted: torch.Tensor, asked: torch.Tensor) -> float:
    """How often the classifier's prediction (N,) is the label (N,) the generator was asked for."""
    return (predicted.cpu() == asked.cpu()).double().mean().item()


def matched_accuracy(codes: torch.Tensor, predicted: torch.Tensor, num_classes: int) -> float:
    """Accuracy of unsupervised codes (N,) as class names under the best one-to-one matching of codes to the
    predicted classes (N,) (the Hungarian algorithm, as InfoGAN reports its MNIST categorical code)."""
    from scipy.optimize import linear_sum_assignment

    k = max(int(codes.max()) + 1, num_classes)
    counts = torch.zeros(k, k, dtype=torch.int64)
    counts.index_put_((codes.cpu().long(), predicted.cpu().long()), torch.ones(len(codes), dtype=torch.int64),
                      accumulate=True)  # (code, class) co-occurrences
    rows, cols = linear_sum_assignment(counts.numpy(), maximize=True)
    return counts[rows, cols].sum().item() / max(len(codes), 1)


def intra_class_fid(real: torch.Tensor, real_labels: torch.Tensor, fake: torch.Tensor, fake_labels: torch.Tensor
                    ) -> float:
    """The mean over classes of the FID between class-k real and class-k generated features (Miyato & Koyama 2018);
    classes with fewer than 2 samples on either side are left out (NaN if none is left)."""
    scores = []
    for k in torch.unique(real_labels).tolist():
        r, f = real[real_labels.cpu() == k], fake[fake_labels.cpu() == k]
        if len(r) >= 2 and len(f) >= 2:
            scores.append(frechet_distance(r, f))
    return sum(scores) / len(scores) if scores else float("nan")


class InceptionFID:
    """Standard FID (torchmetrics' Inception through torch-fidelity) from weights the user has locally.

    Images in [-1, 1] are mapped to [0, 1] (`normalize=True`) and grayscale is repeated to RGB. Nothing is
    fetched: without a readable file or torch-fidelity this raises with what to do instead.
    """

    def __init__(self, weights_path: str | Path) -> None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise DataError(
                f"model.inception_weights={weights_path}: no such file. Give the path of FID Inception weights "
                "you have locally (e.g. pt_inception-2015-12-05-6726825d.pth), or null to skip Inception FID."
            )
        if not _TORCH_FIDELITY_AVAILABLE:
            raise ConfigError(
                "model.inception_weights is set, but Inception FID needs the torch-fidelity package: "
                "`pip install torch-fidelity`, or set model.inception_weights=null."
            )
        self.fid = FrechetInceptionDistance(
            feature=2048, normalize=True, reset_real_features=False, feature_extractor_weights_path=str(path)
        )
        self.real_count = 0

    def to(self, device: torch.device | str) -> "InceptionFID":
        self.fid = self.fid.to(device)
        return self

    def update(self, images: torch.Tensor, real: bool) -> None:
        images = (images.float().clamp(-1, 1) + 1) / 2  # (B, C, S, S) in [0, 1]
        self.fid.update(images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images, real=real)
        self.real_count += len(images) if real else 0

    def reset_fake(self) -> None:
        self.fid.reset()

    def compute(self, seed: int = 0) -> dict[str, float]:
        return {"inception_fid": self.fid.compute().item()}

