"""Checks of the data a config names, light enough to run before torch, torchvision or Lightning is imported.

`gan.validate.preflight` runs `check_data(cfg.data)` first thing, so a wrong `data.*` value, a missing MNIST folder or
image folder is reported in well under two seconds; the datamodules' own `check()` call the same file checks,
so both say the same.
"""

from collections.abc import Iterator
from pathlib import Path

from omegaconf import DictConfig, open_dict

from gan.errors import ConfigError, DataError
from gan.validate.options import BACKGROUNDS, MIXTURE_LAYOUTS
from gan.validate.values import number, one_of, whole_number

# torchvision's raw layout: <data_dir>/<folder>/raw/<file> (tests/unit/test_speed.py checks these against torchvision).
# Each folder is also the name of its torchvision dataset class.
MNIST_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "kmnist": "KMNIST"}
IDX_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"}  # image files a folder is searched for (a GIF: its first frame)


def mnist_folder(root: str | Path, dataset: str) -> Path:
    if dataset not in MNIST_FOLDERS:
        raise ConfigError(f"data.dataset={dataset!r} is not one of: {', '.join(MNIST_FOLDERS)}.")
    return Path(root) / MNIST_FOLDERS[dataset] / "raw"


def check_mnist_files(root: str | Path, dataset: str, download: bool = False, advice: str | None = None) -> None:
    """The missing-files error for the four unpacked IDX files (none when downloading); `advice`
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


def class_folders(root: Path) -> list[str]:
    """The first-level sub-folders of `root` that hold an image (at any depth), sorted: the classes of
    data.labels=folders, by torchvision ImageFolder's rule (the datamodule finds the same ones)."""
    return sorted(d.name for d in root.iterdir()
                  if d.is_dir() and not d.name.startswith(".") and next(iter_images(d), None) is not None)


def check_background(background: str) -> None:
    if background not in BACKGROUNDS:
        raise ConfigError(f"data.background={background!r}: transparent pixels are filled with white or black; use "
                          f"data.background=white (the default) or data.background=black.")


def infer_num_classes(data: DictConfig) -> None:
    """With data.labels=folders, sets data.num_classes to the number of class folders when it is null (the
    conditional networks need it when they are built); a given number that disagrees is an error naming both."""
    if data.get("labels") != "folders":
        return
    root = Path(str(data.root)).expanduser()
    classes = class_folders(root)
    if len(classes) < 2:
        return  # the datamodule's check says what is wrong with the folders
    given = data.get("num_classes")
    if given is None:
        with open_dict(data):
            data.num_classes = len(classes)
    elif whole_number("data.num_classes", given, f"data.num_classes={len(classes)}") != len(classes):
        raise ConfigError(
            f"data.num_classes={given}, but data.labels=folders finds {len(classes)} class folders under {root} "
            f"({', '.join(classes[:8])}{', ...' if len(classes) > 8 else ''}); leave data.num_classes unset to take "
            f"{len(classes)} from the folders."
        )


def check_mixture_layout(layout: str) -> None:
    one_of(layout, MIXTURE_LAYOUTS, "data.layout")


def check_image_root(root: str | Path, missing_hint: str | None = None) -> None:
    """The error for an image folder that does not exist or holds no image (stops at the first image found)."""
    root = Path(root).expanduser()
    hint = f" {missing_hint}" if missing_hint else " Point data.root at a folder of images."
    if root.exists() and not root.is_dir():
        raise DataError(f"data.root={root} is a file, not a folder; point data.root at the folder that holds the "
                        "images (searched recursively).")
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist.{hint}")
    if next(iter_images(root), None) is None:
        raise DataError(f"image folder {root} holds no images ({', '.join(sorted(EXTENSIONS))}, searched "
                        f"recursively).{hint}")


def counts(data: DictConfig, keys: dict[str, int], example: int = 100) -> None:
    """Each of `keys` that the data config sets must be a whole number of at least its minimum."""
    for key, minimum in keys.items():
        value = data.get(key)
        good = f"data.{key}={max(example, minimum)}"
        if value is not None and whole_number(f"data.{key}", value, good) < minimum:
            raise ConfigError(f"data.{key}={value}: must be {minimum} or more, e.g. {good}.")


def check_gaussian(data: DictConfig, advice: str | None = None) -> None:
    number("data.mean", data.get("mean", 4.0), "data.mean=4.0")
    if not number("data.std", data.get("std", 1.25), "data.std=1.25") > 0:
        raise ConfigError(f"data.std={data.std}: a standard deviation must be positive, e.g. data.std=1.25.")
    if whole_number("data.sample_size", data.get("sample_size", 500), "data.sample_size=500") < 2:
        raise ConfigError(f"data.sample_size={data.sample_size}: a set needs at least 2 draws to have a spread; "
                          "e.g. data.sample_size=500.")
    counts(data, {"sets_per_update": 1, "slices": 1, "steps_per_epoch": 1}, example=1)


def check_mnist(data: DictConfig, advice: str | None = None) -> None:
    counts(data, {"batch_size": 1, "eval_batch_size": 1, "subset": 1})
    check_mnist_files(data.data_dir, data.get("dataset", "mnist"), bool(data.get("download", False)), advice)


def check_image_folder(data: DictConfig, advice: str | None = None) -> None:
    counts(data, {"batch_size": 1, "num_workers": 0}, example=64)
    counts(data, {"image_size": 4}, example=64)
    check_background(data.get("background", "white"))
    check_image_root(data.root, advice or data.get("missing_hint"))
    infer_num_classes(data)


def check_mixture(data: DictConfig, advice: str | None = None) -> None:
    check_mixture_layout(data.layout)
    counts(data, {"size": 1, "batch_size": 1, "slices": 1, "steps_per_epoch": 1})
    for key in ("sigma", "radius"):
        if key in data and not number(f"data.{key}", data[key], f"data.{key}=0.05") > 0:
            raise ConfigError(f"data.{key}={data[key]}: must be positive.")


# A datamodule's `_target_` -> the checks of its values and of the files its config names.
CHECKS = {
    "gan.data.gaussian.GaussianDataModule": check_gaussian,
    "gan.data.mnist.MNISTDataModule": check_mnist,
    "gan.data.image_folder.ImageFolderDataModule": check_image_folder,
    "gan.data.mixture.MixtureDataModule": check_mixture,
}


def check_data(data: DictConfig, advice: str | None = None) -> None:
    """`advice`: what to do about missing files, for a command other than gan.run (e.g. gan.evaluate's --data-dir)."""
    check = CHECKS.get(str(data.get("_target_", "")))
    if check is not None:
        check(data, advice)
