"""Checks of the data a config names, light enough to run before torch, torchvision or Lightning is imported.

`gan.preflight` runs `check_data(cfg.data)` first thing, so a missing MNIST folder or image folder is reported
in well under two seconds; the datamodules' own `check()` call the same functions, so both say the same.
"""

from collections.abc import Iterator
from pathlib import Path

from omegaconf import DictConfig

from gan.errors import ConfigError, DataError

# torchvision's raw layout: <data_dir>/<folder>/raw/<file> (tests/test_speed.py checks these against torchvision).
MNIST_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
IDX_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
MIXTURE_LAYOUTS = ("ring", "grid")  # what gan.data.mixture draws; conf/model/mixture.yaml picks settings by it
EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"}  # image files a folder is searched for (a GIF: its first frame)


def mnist_folder(root: str | Path, dataset: str) -> Path:
    if dataset not in MNIST_FOLDERS:
        raise ConfigError(f"data.dataset={dataset!r} is not one of: {', '.join(MNIST_FOLDERS)}.")
    return Path(root) / MNIST_FOLDERS[dataset] / "raw"


def check_mnist_files(root: str | Path, dataset: str, download: bool = False, advice: str | None = None) -> None:
    """The missing-files error for MNIST/FashionMNIST's four unpacked IDX files (none when downloading); `advice`
    replaces gan.run's (copy them, paths.data_dir, data.download) for commands that take other options."""
    folder = mnist_folder(root, dataset)
    if download:
        return
    missing = [name for name in IDX_FILES if not (folder / name).is_file()]
    if not missing:
        return
    gzipped = [name for name in missing if (folder / f"{name}.gz").is_file()]
    hint = f" Found {', '.join(n + '.gz' for n in gzipped)}: unpack them with `gunzip`." if gzipped else ""
    what = "all four" if len(missing) == len(IDX_FILES) else ", ".join(missing)
    if advice:
        raise DataError(f"{dataset} files missing in {folder}: {what} of {', '.join(IDX_FILES)} (unpacked IDX).{hint} "
                        f"{advice}")
    raise DataError(
        f"{dataset} files missing in {folder}: {what} of {', '.join(IDX_FILES)} (unpacked IDX).{hint} "
        f"Copy them there, e.g. `mkdir -p {folder} && cp /path/to/{folder.parent.name}/raw/*-ubyte {folder}/`; "
        f"or point paths.data_dir (env GAN_DATA_DIR) at the folder that holds {folder.parent.name}/raw "
        f"(now {folder.parent.parent}); or, with internet access, add data.download=true (torchvision's downloader)."
    )


def iter_images(root: Path) -> Iterator[Path]:
    """Image files under `root`, recursively, in the file system's order; hidden ones (macOS `._x.jpg`) skipped."""
    for path in root.rglob("*"):
        if path.suffix.lower() in EXTENSIONS and path.is_file() and not any(
                part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def check_mixture_layout(layout: str) -> None:
    if layout not in MIXTURE_LAYOUTS:
        raise ConfigError(f"data.layout={layout!r} is not one of: {', '.join(MIXTURE_LAYOUTS)}.")


def check_image_root(root: str | Path, missing_hint: str | None = None) -> None:
    """The error for an image folder that does not exist or holds no image (stops at the first image found)."""
    root = Path(root).expanduser()
    hint = f" {missing_hint}" if missing_hint else " Point data.root at a folder of images."
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist.{hint}")
    if next(iter_images(root), None) is None:
        raise DataError(f"image folder {root} holds no images ({', '.join(sorted(EXTENSIONS))}, searched "
                        f"recursively).{hint}")


# A datamodule's `_target_` -> the check of the files its config names (datamodules without files have none).
CHECKS = {
    "gan.data.mnist.MNISTDataModule": lambda data, advice: check_mnist_files(
        data.data_dir, data.get("dataset", "mnist"), bool(data.get("download", False)), advice),
    "gan.data.image_folder.ImageFolderDataModule": lambda data, advice: check_image_root(
        data.root, advice or data.get("missing_hint")),
    "gan.data.mixture.MixtureDataModule": lambda data, advice: check_mixture_layout(data.layout),
}


def check_data(data: DictConfig, advice: str | None = None) -> None:
    """`advice`: what to do about missing files, for a command other than gan.run (e.g. gan.evaluate's --data-dir)."""
    check = CHECKS.get(str(data.get("_target_", "")))
    if check is not None:
        check(data, advice)
