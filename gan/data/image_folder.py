"""Any folder of images (searched recursively) as (B, C, S, S) batches in [-1, 1].

Each image is converted to RGB or grayscale, resized so its short side is `image_size`, center-cropped
and scaled from [0, 255] to [-1, 1]. All images are decoded once in `setup()`: corrupt files are found
there (and skipped, with one warning) rather than mid-epoch, and when the decoded set fits in
`cache_bytes` it is kept as one uint8 tensor, so later epochs only index memory. Larger sets are
decoded per item in `num_workers` loader processes.

With `labels="folders"` the batches are (images, labels): the first-level sub-folder is the class, named in
sorted order 0, 1, ... as torchvision's `ImageFolder` does, and images directly under the root are left out;
`num_classes` is then counted from the folders unless given. Transparent pixels (RGBA PNG sprites) are
composited on `background`, white or black.
"""

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler
from torchvision.transforms import functional as TF

from gan.data.resumable import ResumableDataModule, data_generator
from gan.errors import ConfigError, DataError
from gan.validate import options
from gan.validate.data import check_background, check_image_root, iter_images

# data.background: the colour transparent pixels are filled with
BACKGROUNDS = options.table("data.background", options.BACKGROUNDS,
                            {"white": (255, 255, 255, 255), "black": (0, 0, 0, 255)})

log = logging.getLogger(__name__)


def find_images(root: Path) -> list[Path]:
    """Image files under `root`, recursively, in a stable order; hidden files (e.g. macOS `._x.jpg`) skipped."""
    return sorted(iter_images(root))


def load_image(path: Path, image_size: int, channels: int, background: str = "white") -> torch.Tensor:
    """(channels, image_size, image_size) uint8 from any image file, transparent parts filled with `background`
    (white or black); raises on unreadable files."""
    with Image.open(path) as img:
        # JPEGs can decode at 1/2, 1/4, 1/8 scale directly: large frames cost a fraction to read.
        scale = image_size / min(img.size)
        img.draft("RGB" if channels == 3 else "L", (round(img.width * scale), round(img.height * scale)))
        img = _to_8_bits(img)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")  # transparent parts take the background, not their hidden colours
            img = Image.alpha_composite(Image.new("RGBA", rgba.size, BACKGROUNDS[background]), rgba)
        img = img.convert("RGB" if channels == 3 else "L")
        img = TF.center_crop(TF.resize(img, image_size, antialias=True), image_size)
        return TF.pil_to_tensor(img)


def _to_8_bits(img: Image.Image) -> Image.Image:
    """High-bit-depth greyscale (16-bit PNG or TIFF: modes I;16*, I, F) scaled to 8 bits, not clipped.

    Pillow's `convert("L")` clips such values at 255, so a 16-bit image would train as near-white. 16-bit
    integers are scaled from [0, 65535] (wider ones from [0, their maximum]); floats from [0, 1] when they
    lie there. 16-bit RGB PNGs already open as 8-bit RGB.
    """
    if not (img.mode.startswith("I") or img.mode == "F"):
        return img
    values = np.asarray(img, dtype=np.float64)
    top = values.max(initial=0.0)
    full_scale = (1.0 if top <= 1.0 else top) if img.mode == "F" else (65535.0 if top <= 65535 else top)
    return Image.fromarray(np.clip(np.rint(values * (255.0 / full_scale)), 0, 255).astype(np.uint8), "L")


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the generator's tanh range."""
    return images.float().div_(127.5).sub_(1.0)


class _CachedImages(Dataset):
    """Decoded images in memory; an index gives (C, S, S), a list of indices a whole (B, C, S, S) batch;
    with `labels` (N,), the pair (images, labels)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        self.images, self.labels = images, labels  # (N, C, S, S) uint8, (N,) int64 or None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, indices: int | list[int]):
        images = to_model_range(self.images[indices])
        return images if self.labels is None else (images, self.labels[indices])


class _ImageFiles(Dataset):
    """Images decoded per item (in loader workers) when the whole set is larger than the cache budget."""

    def __init__(self, files: list[Path], image_size: int, channels: int, labels: torch.Tensor | None = None,
                 background: str = "white") -> None:
        self.files, self.image_size, self.channels, self.labels = files, image_size, channels, labels
        self.background = background

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        # setup() decoded every file once, so a failure here means it changed since; use a neighbour.
        for offset in range(len(self.files)):
            path = self.files[(index + offset) % len(self.files)]
            try:
                image = to_model_range(load_image(path, self.image_size, self.channels, self.background))
                return image if self.labels is None else (image, self.labels[index])
            except Exception as error:  # noqa: BLE001 - any decoder error means "skip this file"
                log.warning("skipping %s, unreadable since setup: %s", path, error)
        raise DataError(f"no image under {self.files[0].parent} can be read any more.")


class ImageFolderDataModule(ResumableDataModule):
    """Images under `root` as (batch_size, channels, image_size, image_size) batches in [-1, 1].

    `missing_hint` is added to the error for a missing or empty folder (e.g. where to get a data set).
    """

    def __init__(
        self,
        root: str,
        image_size: int = 64,
        channels: int = 3,
        batch_size: int = 128,
        cache_bytes: int = 2 * 1024**3,
        num_workers: int = 2,
        missing_hint: str | None = None,
        max_image_pixels: int | None = Image.MAX_IMAGE_PIXELS,
        labels: str | None = None,
        num_classes: int | None = None,
        background: str = "white",
    ) -> None:
        """`labels`: None (unlabelled images) or "folders" (first-level sub-folder = class); `num_classes`: how many
        class folders there are (None: counted), checked against the folder; `background`: white or black, what
        transparent pixels are filled with."""
        super().__init__()
        check_background(background)
        self.background = background
        if labels not in (None, "folders"):
            raise ConfigError(f"data.labels={labels!r}: use null (unlabelled images) or folders (sub-folder = class).")
        self.labels, self.num_classes = labels, None if num_classes is None else int(num_classes)
        self.classes: list[str] | None = None
        if channels not in (1, 3):
            raise ConfigError(f"data.channels={channels}: use 3 (RGB) or 1 (grayscale).")
        if int(image_size) < 4 or int(batch_size) < 1:
            raise ConfigError(f"data.image_size={image_size}, data.batch_size={batch_size}: both must be positive.")
        self.root = Path(root).expanduser()
        self.image_size, self.channels, self.batch_size = int(image_size), int(channels), int(batch_size)
        self.cache_bytes, self.num_workers, self.missing_hint = int(cache_bytes), int(num_workers), missing_hint
        self.sample_shape = (self.channels, self.image_size, self.image_size)  # what one D sample looks like
        # Pillow refuses images past this many pixels as decompression bombs (a tiny file that decodes to GBs).
        Image.MAX_IMAGE_PIXELS = None if max_image_pixels is None else int(max_image_pixels)
        self.dataset: Dataset | None = None

    def _missing(self, what: str) -> DataError:
        hint = f" {self.missing_hint}" if self.missing_hint else " Point data.root at a folder of images."
        return DataError(f"{what}.{hint}")

    def check(self) -> list[Path]:
        """The image files under `root`; a missing or empty folder is reported before a run folder is made."""
        check_image_root(self.root, self.missing_hint)  # the check gan.run makes before importing Lightning
        files = find_images(self.root)
        if self.labels == "folders":
            files = self._class_files(files)
        return files

    def _class_files(self, files: list[Path]) -> list[Path]:
        """The files inside class folders; sets `classes` (sorted first-level sub-folder names, ImageFolder's rule)."""
        classes = sorted({p.relative_to(self.root).parts[0] for p in files if len(p.relative_to(self.root).parts) > 1})
        if len(classes) < 2:
            found = f"only the sub-folder {classes[0]!r}" if classes else "no sub-folder with images"
            raise DataError(
                f"data.labels=folders: {self.root} has no classes ({found}); put each class's images in its own "
                "first-level sub-folder (two or more), or use data.labels=null for unlabelled images."
            )
        if self.num_classes is not None and self.num_classes != len(classes):
            raise ConfigError(
                f"data.labels=folders: {self.root} has {len(classes)} classes ({', '.join(classes)}), but "
                f"data.num_classes={self.num_classes}; set data.num_classes={len(classes)}, or leave it null."
            )
        self.num_classes = len(classes)
        loose = [p for p in files if len(p.relative_to(self.root).parts) == 1]
        if loose:
            log.warning("data.labels=folders: %d image(s) directly under %s belong to no class and are left out",
                        len(loose), self.root)
        self.classes = classes
        return [p for p in files if len(p.relative_to(self.root).parts) > 1]

    def _label_of(self, path: Path) -> int:
        return self.classes.index(path.relative_to(self.root).parts[0])

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is not None:
            return
        files = self.check()
        cache = len(files) * self.channels * self.image_size**2 <= self.cache_bytes
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # PIL decodes outside the GIL
            decoded = list(pool.map(lambda path: self._try_load(path, keep=cache), files))
        good = [(path, image) for path, image in zip(files, decoded) if isinstance(image, (torch.Tensor, bool))]
        bad = [path for path, image in zip(files, decoded) if image is None]
        bombs = [path for path, image in zip(files, decoded) if isinstance(image, Image.DecompressionBombError)]
        if bad:
            names = ", ".join(str(p.relative_to(self.root)) for p in bad[:5]) + (", ..." if len(bad) > 5 else "")
            log.warning("skipped %d unreadable or corrupt image file(s) of %d under %s: %s",
                        len(bad), len(files), self.root, names)
        if bombs:
            names = ", ".join(str(p.relative_to(self.root)) for p in bombs[:5]) + (", ..." if len(bombs) > 5 else "")
            log.warning(
                "skipped %d image(s) that Pillow refused as decompression bombs (over twice data.max_image_pixels=%d "
                "pixels) under %s: %s. If you trust them, raise data.max_image_pixels (null: no limit), or shrink them.",
                len(bombs), Image.MAX_IMAGE_PIXELS or 0, self.root, names)
        if not good:
            raise self._missing(
                f"none of the {len(files)} image files under {self.root} can be read"
                + (f" ({len(bombs)} refused by Pillow as a decompression bomb, i.e. over twice data.max_image_pixels: "
                   "raise it, or data.max_image_pixels=null, if you trust them)" if bombs else "")
            )
        labels = torch.tensor([self._label_of(path) for path, _ in good]) if self.labels == "folders" else None
        if cache:
            self.dataset = _CachedImages(torch.stack([image for _, image in good]), labels)
        else:
            self.dataset = _ImageFiles([path for path, _ in good], self.image_size, self.channels, labels,
                                       self.background)
        log.info("%d images from %s (%s)", len(good), self.root, "cached in memory" if cache else "decoded per item")

    def _try_load(self, path: Path, keep: bool) -> torch.Tensor | bool | Exception | None:
        """The decoded image (or True when not kept, to spare memory); the error for a file too large to
        decode safely; None for an unreadable file."""
        try:
            image = load_image(path, self.image_size, self.channels, self.background)
            return image if keep else True
        except Image.DecompressionBombError as error:
            return error
        except Exception:  # noqa: BLE001 - PIL raises many types for bad files; all mean "skip"
            return None

    def train_dataloader(self) -> DataLoader:
        self.setup()
        drop_last = len(self.dataset) >= self.batch_size  # full batches, unless the folder has fewer images
        distributed = self.trainer is not None and self.trainer.world_size > 1  # Lightning then shards the sampler
        generator = data_generator(self)  # the training data's own stream (the global RNG is the model's)
        if isinstance(self.dataset, _CachedImages) and not distributed:
            # batch_size=None with a batch sampler: each item is one whole batch gathered by index.
            sampler = BatchSampler(RandomSampler(self.dataset, generator=generator), self.batch_size, drop_last)
            return self.train_loader(self.dataset, generator, sampler=sampler, batch_size=None)
        # Per item: files decoded in workers, or cached images under DDP (Lightning then shards the sampler).
        # Workers start anew each epoch: a persistent iterator draws its worker seed once, a new one per epoch,
        # so a resumed run (a new iterator) would shift the shuffle stream. An epoch of a folder past the cache
        # budget is long next to starting the workers.
        workers = self.num_workers if isinstance(self.dataset, _ImageFiles) else 0
        return self.train_loader(self.dataset, generator, batch_size=self.batch_size, shuffle=True,
                                 drop_last=drop_last, num_workers=workers)
