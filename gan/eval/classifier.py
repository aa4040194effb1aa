"""The feature classifier itself: its network, its training loop and its file (gan/features.py builds and caches it).

    classifier = train_classifier(images, labels, num_classes=10)    # (N, C, S, S) in [-1, 1]
    save_classifier(classifier, path, test_accuracy=0.98)           # weights, constructor arguments, info: one file
    classifier, info = load_classifier(path)
"""

import os
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from gan.errors import DataError


class Classifier(nn.Module):
    """Two conv blocks and a `num_features`-wide hidden layer; that layer is the feature space of FID/KID.

    (B, C, S, S) in [-1, 1] -> features (B, num_features) -> logits (B, num_classes). The adaptive pool
    makes any image size work (28 px MNIST, 64 px folders) with the same head.
    """

    def __init__(self, channels: int = 1, num_classes: int = 10, width: int = 16, num_features: int = 128) -> None:
        super().__init__()
        self.config = {"channels": channels, "num_classes": num_classes, "width": width, "num_features": num_features}
        self.num_features, self.num_classes = num_features, num_classes
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, w, S/2, S/2)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 2w, S/4, S/4)
            nn.AdaptiveAvgPool2d(7), nn.Flatten(),  # (B, 2w * 49)
            nn.Linear(2 * width * 49, num_features), nn.ReLU(),
        )
        self.head = nn.Linear(num_features, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    epochs: int = 2,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    **net_options,
) -> Classifier:
    """Adam on cross-entropy over (N, C, S, S) images in [-1, 1]; returns the classifier in eval mode."""
    generator = torch.Generator().manual_seed(seed)  # own stream: reproducible, leaves the global one alone
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        classifier = Classifier(images.shape[1], num_classes, **net_options).to(images.device)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    classifier.train()
    batches = -(-len(images) // batch_size)
    # A bar on a terminal only (tqdm's disable=None): logs and captured output get the lines around it.
    with tqdm(total=epochs * batches, desc="feature classifier", unit="batch", disable=None, leave=False) as bar:
        for _ in range(epochs):
            for index in torch.randperm(len(images), generator=generator).split(batch_size):
                index = index.to(images.device)
                loss = F.cross_entropy(classifier(images[index]), labels[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                bar.update()
    return classifier.eval()


@torch.no_grad()
def accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    correct = sum(
        (classifier(x).argmax(1) == y).sum().item() for x, y in zip(images.split(batch_size), labels.split(batch_size))
    )
    return correct / len(labels)


def save_classifier(classifier: Classifier, path: str | Path, **info) -> Path:
    """Weights, the constructor's arguments and `info` (dataset, accuracy, ...) in one file, written whole:
    to a temporary file beside it, then renamed over it (a reader never sees half a file)."""
    state = {k: v.cpu() for k, v in classifier.state_dict().items()}
    return atomic_save({"state_dict": state, "config": classifier.config, "info": info}, path)


def atomic_save(obj, path: str | Path) -> Path:
    """torch.save to a temporary file in the same folder, then os.replace onto `path`: whole or not at all."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            torch.save(obj, f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's file is private; a shared cache must be readable
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_classifier(path: str | Path) -> tuple[Classifier, dict]:
    """(classifier in eval mode on the CPU, its info); `weights_only` loading runs nothing from the file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"no feature classifier at {path}: build it with `python -m gan.features data=<dataset>`.")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        classifier = Classifier(**saved["config"])
        classifier.load_state_dict(saved["state_dict"])
    except Exception as error:  # truncated file, or one written by something else
        raise DataError(
            f"cannot read the feature classifier {path} ({type(error).__name__}: {error}); delete it and "
            "rebuild it with `python -m gan.features data=<dataset>`."
        ) from error
    return classifier.eval(), dict(saved.get("info", {}))
