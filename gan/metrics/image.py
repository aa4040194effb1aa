"""Sample quality of image generators, offline: FID and KID over a project-trained classifier's features,
and how evenly the generated samples spread over the classes.

torchmetrics' FID/KID take any `nn.Module` as `feature=`: it gets the images as given and must return
(B, D) features; FID reads D from its `num_features` attribute (else it runs a dummy 3 x 299 x 299 batch,
which a 1-channel classifier would reject). Its default Inception needs torch-fidelity and a download,
so it is only ever built from weights the user names (`InceptionFID`).
"""

import math
from pathlib import Path

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance
from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE

from gan.errors import ConfigError, DataError


class ClassifierFeatures(nn.Module):
    """A trained classifier's feature layer as torchmetrics' `feature` network: frozen, always in eval mode.

    (B, C, S, S) in [-1, 1] -> (B, num_features). FID and KID are updated with the same batch one after
    the other, so the last result is kept and handed out again for the very same tensor.
    """

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier.eval().requires_grad_(False)
        self.num_features = int(classifier.num_features)
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    def train(self, mode: bool = True) -> "ClassifierFeatures":
        return super().train(False)  # torchmetrics and Lightning toggle modes; the features must not change

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self._last is None or self._last[0] is not images:
            self._last = (images, self.classifier.features(images.float()))
        return self._last[1]

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.head(self(images))


def class_entropy(counts: torch.Tensor) -> float:
    """Entropy (nats) of the class histogram; log(K) when every class is equally frequent, 0 for one class."""
    p = counts.double() / counts.sum()
    return max(0.0, -(p[p > 0] * p[p > 0].log()).sum().item())  # max: no "-0.0" for a single class


class ImageQuality:
    """Streams real and fake batches into FID, KID and the fakes' class histogram; `compute()` scores them.

    Real features are kept by `reset_fake()`, so one reference set serves many fake sets (every validation
    epoch, and the real-vs-real floor). Not an `nn.Module`: a model holding it carries no metric state or
    classifier weights in its checkpoints.
    """

    def __init__(
        self,
        classifier: nn.Module,
        kid_subset_size: int = 1000,
        kid_subsets: int = 100,
        image_shape: tuple[int, ...] | None = None,
    ) -> None:
        """`image_shape` (C, S, S): what the classifier was trained on; other images are refused."""
        self.image_shape = tuple(image_shape) if image_shape else None
        self.features = ClassifierFeatures(classifier)
        self.num_classes = int(classifier.num_classes)
        self.fid = FrechetInceptionDistance(feature=self.features, reset_real_features=False)
        self.kid = KernelInceptionDistance(
            feature=self.features, subsets=kid_subsets, subset_size=kid_subset_size, reset_real_features=False
        )
        self.kid_subset_size = kid_subset_size
        self.fake_counts = torch.zeros(self.num_classes, dtype=torch.long)
        self.real_count = 0

    def to(self, device: torch.device | str) -> "ImageQuality":
        self.fid, self.kid = self.fid.to(device), self.kid.to(device)
        return self

    def update(self, images: torch.Tensor, real: bool) -> None:
        if self.image_shape and tuple(images.shape[1:]) != self.image_shape:
            raise ConfigError(
                f"the feature classifier was trained on {self.image_shape} images, these are {tuple(images.shape[1:])}: "
                "point model.feature_extractor at a classifier built on this data (`python -m gan.features data=...`)."
            )
        self.fid.update(images, real=real)
        self.kid.update(images, real=real)
        if real:
            self.real_count += len(images)
        else:
            predicted = self.features.logits(images).argmax(1).cpu()
            self.fake_counts += torch.bincount(predicted, minlength=self.num_classes)

    def reset_fake(self) -> None:
        self.fid.reset()
        self.kid.reset()
        self.fake_counts.zero_()

    def compute(self, seed: int = 0) -> dict[str, float]:
        """fid, kid (mean and std over subsets), class_entropy and mode_coverage of the fakes seen since reset."""
        fake_count = int(self.fake_counts.sum())
        # KID draws its subsets with the global RNG: a fixed seed, in a forked stream that training never sees.
        self.kid.subset_size = min(self.kid_subset_size, self.real_count, fake_count)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            kid_mean, kid_std = self.kid.compute()
        share = self.fake_counts.double() / max(fake_count, 1)
        return {
            "fid": self.fid.compute().item(),
            "kid": kid_mean.item(),
            "kid_std": kid_std.item(),
            "class_entropy": class_entropy(self.fake_counts),
            # classes given at least half their uniform share: K for an even spread, fewer when modes drop
            "mode_coverage": int((share >= 0.5 / self.num_classes).sum()),
        }


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


def uniform_entropy(num_classes: int) -> float:
    """The class entropy of a generator that covers all classes evenly: log(K)."""
    return math.log(num_classes)
