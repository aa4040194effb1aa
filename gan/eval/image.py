"""Sample quality of image generators, offline, from feature sets: FID, KID, and how evenly samples spread
over classes; precision/recall/density/coverage are in gan/eval/prdc.py.

The features are those of the project's own classifier (gan/features.py), computed by `gan.eval.evaluator`.
Standard FID over Inception (`InceptionFID`) is torchmetrics' over torch-fidelity's network (the `inception`
extra), with weights the user names (`eval.inception`): a local file, or `download`: torch-fidelity's file in
torch's hub cache, where torchmetrics and torch-fidelity keep it, fetched into it only when it is not there.
"""

import inspect
from pathlib import Path

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE

from gan.errors import ConfigError, DataError
from gan.validate.config import INCEPTION_EXTRA, missing_inception

# torch-fidelity's FID Inception weights, the file torch-fidelity and torchmetrics keep in <torch hub dir>/checkpoints
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"


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
                "point eval.feature_extractor at a classifier built on this data (`python -m gan.features data=...`)."
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


def hub_inception_file() -> Path:
    """Where torch-fidelity and torchmetrics put the FID Inception weights they fetch (honours $TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def describe_inception(inception: str | None) -> str:
    """eval.inception in words, without reading or fetching anything."""
    if inception == "download":
        there = hub_inception_file()
        return f"the FID Inception weights {there}" + ("" if there.is_file() else " (fetched now: they are missing)")
    return f"the FID Inception weights {inception}"


def inception_weights_file(inception: str | Path) -> Path:
    """The weights file eval.inception names: a local file, or (`download`) the hub cache's, fetched into it only
    when missing. One line for a missing file, a missing torch-fidelity, or a fetch that fails."""
    path = hub_inception_file() if str(inception) == "download" else Path(inception).expanduser()
    if str(inception) != "download" and not path.is_file():
        raise DataError(missing_inception(inception))
    if not _TORCH_FIDELITY_AVAILABLE:
        raise ConfigError(f"eval.inception={inception}: {INCEPTION_EXTRA}; or set eval.inception=null.")
    if not path.is_file():
        from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(URL_INCEPTION_V3, str(path), progress=False)
        except Exception as error:  # noqa: BLE001 - no network, a proxy, a full disk: all say the same
            reason = (str(getattr(error, "reason", "") or error).strip().splitlines() or [type(error).__name__])[0]
            raise DataError(
                f"eval.inception=download: could not fetch {URL_INCEPTION_V3} ({reason}); copy that file to {path}, "
                "or give eval.inception=/path/to/the/file, or eval.inception=null."
            ) from None
    return path


class InceptionFID:
    """Standard FID (torchmetrics' over torch-fidelity's Inception) with the weights eval.inception names.

    Images in [-1, 1] are rounded to uint8 [0, 255] as the image files they stand for would be (what torch-fidelity
    reads from disk), and grayscale is repeated to RGB; the network resizes them to 299 px itself, as torch-fidelity
    does, so the figure is torch-fidelity's `calculate_metrics(fid=True)` on the same weights and images.
    """

    def __init__(self, inception: str | Path) -> None:
        self.weights = inception_weights_file(inception)
        # antialias=False: torch-fidelity's TF1-style resize to 299 px, as the published FIDs; torchmetrics' default
        # (since 1.5, an antialiased torch resize) gives other features (tests/unit/test_inception.py tells them apart).
        resize = {"antialias": False} if "antialias" in inspect.signature(FrechetInceptionDistance).parameters else {}
        self.fid = FrechetInceptionDistance(
            feature=2048, reset_real_features=False, feature_extractor_weights_path=str(self.weights), **resize
        )
        self.real_count = 0

    def to(self, device: torch.device | str) -> "InceptionFID":
        self.fid = self.fid.to(device)
        return self

    def update(self, images: torch.Tensor, real: bool) -> None:
        images = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # (B, C, S, S) in [0, 255]
        self.fid.update(images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images, real=real)
        self.real_count += len(images) if real else 0

    def reset_fake(self) -> None:
        self.fid.reset()

    def compute(self, seed: int = 0) -> dict[str, float]:
        return {"inception_fid": self.fid.compute().item()}

