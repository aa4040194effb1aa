"""Train the small classifier whose features FID and KID are computed over, on the data's own labels.

    python -m gan.features data=mnist                    # ~3 CPU minutes on 2 cores; test accuracy 98 %
    python -m gan.features data=fashion_mnist
    python -m gan.features data=mnist max_samples=2000 epochs=1     # a quick look (tests use this)

Image runs and `gan.evaluate` build it themselves when it is missing (`ensure_classifier`); this command builds
it ahead of time. The weights go to `${paths.cache_dir}/features/<dataset>-classifier.pt` (`paths.cache_dir`:
env GAN_CACHE_DIR, else ~/.cache/gan), shared by every run and folder. The file is written whole or not at all
(a temporary file renamed into place), and builders queue on a lock file beside it, so two runs starting at
once train it once. Standard FID needs Inception weights, which every GAN library downloads at run time; this
classifier is trained here, offline, so its figures compare runs of this project with each other, not with
papers' Inception FIDs.
"""

import os
import tempfile
import time
from pathlib import Path

import hydra
import torch
import torch.nn.functional as F
from filelock import FileLock
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf
from torch import nn
from tqdm import tqdm

from gan.errors import ConfigError, DataError, GanError

CONFIG_DIR = str(Path(__file__).resolve().parent / "conf") if (Path(__file__).parent / "conf").is_dir() else str(
    Path(__file__).resolve().parent.parent / "conf"
)  # conf/ sits beside the package in a checkout and inside it in a wheel


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


def build(cfg: DictConfig) -> dict:
    """Train on the data's labelled train split, score on its test split, save; returns the info saved."""
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    train_labels = getattr(datamodule, "train_labels", None)
    if train_labels is None or getattr(datamodule, "test_labels", None) is None:
        raise DataError(
            f"data={cfg.data.get('_target_')} has no class labels, so no feature classifier can be trained on it. "
            "FID/KID for such data need Inception weights you have locally: model.inception_weights=/path/to/"
            "weights.pth (and `pip install torch-fidelity`)."
        )
    if cfg.max_samples is not None and int(cfg.max_samples) < 2 * datamodule.num_classes:
        raise ConfigError(f"max_samples={cfg.max_samples}: too few to learn {datamodule.num_classes} classes.")
    images, labels = datamodule.train_images.cpu(), train_labels.cpu()
    if cfg.max_samples is not None and cfg.max_samples < len(images):
        keep = torch.randperm(len(images), generator=torch.Generator().manual_seed(cfg.seed))[: cfg.max_samples]
        images, labels = images[keep], labels[keep]
    start = time.perf_counter()
    classifier = train_classifier(
        images, labels, datamodule.num_classes, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
        seed=cfg.seed, width=cfg.width, num_features=cfg.num_features,
    )
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(classifier, datamodule.test_images.cpu(), datamodule.test_labels.cpu())
    info = {
        "dataset": cfg.data.get("dataset", "unknown"),
        "image_shape": list(images.shape[1:]),
        "train_samples": len(images),
        "epochs": int(cfg.epochs),
        "test_accuracy": test_accuracy,
        "train_time_s": seconds,
    }
    path = save_classifier(classifier, cfg.output, **info)
    print(
        f"feature classifier for {info['dataset']}: test accuracy {test_accuracy:.4f} "
        f"(chance {1 / datamodule.num_classes:.2f}) after {seconds:.0f} s on {len(images)} images -> {path}"
    )
    return {**info, "path": str(path)}


def ensure_classifier(path: str | Path, data: DictConfig | dict, **settings) -> Path:
    """The classifier file at `path`, trained on `data` first when it is missing: once, whoever asks.

    `settings` override conf/features.yaml's (e.g. max_samples=2000, epochs=1; None keeps the default).
    Builders queue on `<path>.lock`; whoever gets it second finds the file and uses it.
    """
    path = Path(path).expanduser()
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):
        if path.is_file():  # built by another run while this one waited
            return path
        cfg = build_config(data, path, **settings)
        subset = f"{cfg.max_samples} of the" if cfg.max_samples is not None else "all"
        print(
            f"No feature classifier for {cfg.data.get('dataset', 'this data')} at {path}: training it now, once, on "
            f"{subset} train images for {cfg.epochs} epoch(s) (sample quality is measured in its features; "
            "`python -m gan.features` builds it ahead of time).",
            flush=True,
        )
        build(cfg)
    return path


def build_config(data: DictConfig | dict, output: str | Path, **settings) -> DictConfig:
    """conf/features.yaml's settings for building on `data` into `output`, with `settings` (not None) on top."""
    defaults = OmegaConf.load(Path(CONFIG_DIR) / "features.yaml")
    plain = {k: v for k, v in OmegaConf.to_container(defaults).items() if k not in ("defaults", "hydra", "output")}
    data = OmegaConf.to_container(data, resolve=True) if isinstance(data, DictConfig) else dict(data)
    chosen = {k: v for k, v in settings.items() if v is not None}
    unknown = set(chosen) - set(plain)
    if unknown:
        raise ConfigError(f"unknown feature classifier setting(s) {sorted(unknown)}; known: {sorted(plain)}.")
    return OmegaConf.create({**plain, **chosen, "data": data, "output": str(output)})


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="features")
def main(cfg: DictConfig) -> None:
    try:
        build(cfg)
    except (GanError, InstantiationException) as error:
        cause = error.__cause__ if isinstance(error, InstantiationException) and error.__cause__ else error
        raise SystemExit(f"error: {cause}") from None


if __name__ == "__main__":
    main()
