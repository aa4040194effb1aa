"""MNIST, FashionMNIST and Kuzushiji-MNIST (KMNIST), decoded once into a tensor in [-1, 1] and served in batches.

The files are torchvision's raw layout: `<data_dir>/MNIST/raw/train-images-idx3-ubyte` and the other three
unpacked IDX files (`<data_dir>/FashionMNIST/raw/...` and `<data_dir>/KMNIST/raw/...` likewise). The MNIST notebook
decodes each image per item with `ToTensor`/`Normalize` in every epoch (about 0.1 ms of CPU per image here,
benchmarks/mnist_throughput.py); one `images[indices]` gather from a pre-normalized tensor (on the training device
when it fits) replaces it.
"""

import socket
from pathlib import Path

import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset
from torchvision import datasets

from gan.data.resumable import ResumableDataModule, data_generator
from gan.errors import ConfigError, DataError
from gan.validate.data import IDX_FILES, MNIST_FOLDERS, check_mnist_files, mnist_folder

DATASETS = {name: getattr(datasets, folder) for name, folder in MNIST_FOLDERS.items()}  # MNIST, FashionMNIST, KMNIST
SHAPE = {"channels": 1, "image_size": 28, "num_classes": 10}  # each dataset: 10 classes of 1 x 28 x 28
PADDED_SIZES = (32,)  # data.image_size=32: served padded by 2 px of background (-1) on each side, for DCGAN
DOWNLOAD_TIMEOUT_S = 30  # torchvision's downloader sets no timeout; offline it must fail, not hang


def raw_files(dataset: str) -> list[str]:
    """The four unpacked IDX file names torchvision expects in `<root>/<Class>/raw`."""
    _dataset_class(dataset)
    return list(IDX_FILES)


def raw_folder(root: str | Path, dataset: str) -> Path:
    return mnist_folder(root, dataset)


def load_split(root: str | Path, dataset: str = "mnist", train: bool = True, download: bool = False):
    """Decode one split via torchvision: images (N, 1, 28, 28) float32 in [-1, 1], labels (N,) int64.

    The same numbers as the original's `ToTensor()` then `Normalize((0.5,), (0.5,))`, for all items at once.
    """
    cls = _dataset_class(dataset)
    folder = raw_folder(root, dataset)
    if download:
        _download(dataset, root)
    check_mnist_files(root, dataset)
    try:
        split = cls(str(root), train=train, download=False)
    except (AssertionError, ValueError, TypeError, RuntimeError, OSError) as error:
        raise DataError(
            f"could not read {dataset} from {folder} ({type(error).__name__}: {error}). The IDX files there look "
            f"damaged or are not unpacked; replace them with fresh copies of {', '.join(raw_files(dataset))}."
        ) from error
    images = split.data.unsqueeze(1).to(torch.float32).div_(127.5).sub_(1.0)  # uint8 (N, 28, 28) -> (N, 1, 28, 28)
    return images, split.targets.to(torch.int64)


class MNISTDataModule(ResumableDataModule):
    """(images, labels) batches of MNIST or FashionMNIST; the test split serves validation and testing.

    `on_device=True` moves the decoded tensors to the training device in `setup` when they fit (about
    190 MB for the training split), so a batch is one index into device memory and no copy per step.
    """

    def __init__(
        self,
        data_dir: str | Path,
        dataset: str = "mnist",
        batch_size: int = 100,
        download: bool = False,
        on_device: bool = True,
        shuffle: bool = True,
        drop_last: bool = False,
        eval_batch_size: int = 1000,
        subset: int | None = None,
        channels: int = 1,
        image_size: int = 28,
        num_classes: int = 10,
    ) -> None:
        """`channels`, `image_size` and `num_classes` are stated in the data config for model configs to
        interpolate; they are checked here against what the dataset really is. `subset`: train on the first
        `subset` training images only (the same ones in every run; the test split stays whole)."""
        super().__init__()
        _dataset_class(dataset)
        for key, value in {"data.batch_size": batch_size, "data.eval_batch_size": eval_batch_size}.items():
            if int(value) < 1:
                raise ConfigError(f"{key}={value}: must be a positive integer, e.g. 100.")
        if subset is not None and int(subset) < 1:
            raise ConfigError(f"data.subset={subset}: train on at least one image, e.g. data.subset=1000, or null for all.")
        for key, value in {"channels": channels, "image_size": image_size, "num_classes": num_classes}.items():
            if int(value) != SHAPE[key] and not (key == "image_size" and int(value) in PADDED_SIZES):
                hint = " (or 32: padded, for DCGAN)" if key == "image_size" else ""
                raise ConfigError(f"data.{key}={value}, but {dataset} has {SHAPE[key]}; leave it at {SHAPE[key]}{hint}.")
        self.save_hyperparameters()
        self.data_dir, self.dataset = Path(data_dir), dataset
        self.channels, self.image_size, self.num_classes = SHAPE["channels"], int(image_size), SHAPE["num_classes"]
        # The decoded tensors stay 28 px (a classifier built from them too); the loaders pad each batch.
        self.padding = (self.image_size - SHAPE["image_size"]) // 2
        self.sample_shape = (self.channels, self.image_size, self.image_size)
        self.train_images = self.train_labels = self.test_images = self.test_labels = None

    def check(self) -> None:
        """Raises the missing-files error now, before a run folder is made (files are decoded in `setup`)."""
        check_mnist_files(self.data_dir, self.dataset, self.hparams.download)  # the check gan.run makes first

    def setup(self, stage: str | None = None) -> None:
        if self.train_images is None:
            download = self.hparams.download  # torchvision skips files already there
            self.train_images, self.train_labels = load_split(self.data_dir, self.dataset, True, download)
            self.test_images, self.test_labels = load_split(self.data_dir, self.dataset, train=False)
            subset = self.hparams.subset
            if subset is not None:
                if subset > len(self.train_images):
                    raise ConfigError(
                        f"data.subset={subset}: {self.dataset} has only {len(self.train_images)} training images; "
                        "use fewer, or data.subset=null for all."
                    )
                self.train_images, self.train_labels = self.train_images[:subset], self.train_labels[:subset]
        device = self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")
        if self.hparams.on_device and _fits(device, self.train_images, self.test_images):
            for name in ("train_images", "train_labels", "test_images", "test_labels"):
                setattr(self, name, getattr(self, name).to(device))

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_images, self.train_labels, self.hparams.batch_size, self.hparams.shuffle,
                            resumable=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.test_images, self.test_labels, self.hparams.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()

    def _loader(
        self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, shuffle: bool, resumable: bool = False
    ) -> DataLoader:
        if images is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        dataset = PaddedTensorDataset(self.padding, images, labels)
        drop_last = self.hparams.drop_last and shuffle  # evaluation always sees the whole held-out split
        if self.trainer is not None and self.trainer.world_size > 1:
            # DDP: Lightning swaps in a DistributedSampler to shard the data, which needs a per-item loader.
            return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)
        generator = data_generator(self)  # the training data's own stream (the global RNG is the model's)
        order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        # The sampler yields whole index lists and batch_size=None turns off collation, so each batch is
        # one `images[indices]` gather: (batch_size, 1, 28, 28) straight from the decoded tensor.
        sampler = BatchSampler(order, batch_size, drop_last)
        if resumable:
            return self.train_loader(dataset, generator, batch_size=None, sampler=sampler)
        return DataLoader(dataset, batch_size=None, sampler=sampler)


class PaddedTensorDataset(TensorDataset):
    """(images, labels) items or index-list batches, the images padded by `padding` px of background (-1)."""

    def __init__(self, padding: int, *tensors: torch.Tensor) -> None:
        super().__init__(*tensors)
        self.padding = padding

    def __getitem__(self, index):
        images, *rest = super().__getitem__(index)
        if self.padding:
            images = torch.nn.functional.pad(images, [self.padding] * 4, value=-1.0)  # (.., 28, 28) -> (.., 32, 32)
        return images, *rest


def _dataset_class(dataset: str):
    if dataset not in DATASETS:
        raise ConfigError(f"data.dataset={dataset!r} is not one of: {', '.join(DATASETS)}.")
    return DATASETS[dataset]


def _fits(device: torch.device, *tensors: torch.Tensor) -> bool:
    if device.type != "cuda":
        return True  # CPU (or MPS, unified memory): already where the step reads it
    free, _ = torch.cuda.mem_get_info(device)
    return sum(t.numel() * t.element_size() for t in tensors) < 0.25 * free  # leave most memory to training


def _download(dataset: str, root: str | Path) -> None:
    cls, folder = _dataset_class(dataset), raw_folder(root, dataset)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        cls(str(root), train=True, download=True)
    except Exception as error:  # torchvision raises RuntimeError/URLError/OSError depending on where it failed
        raise DataError(
            f"data.download=true could not fetch {cls.__name__} into {folder}: {str(error).strip().splitlines()[0]} "
            f"Without internet, copy the unpacked IDX files ({', '.join(raw_files(dataset))}) into {folder} "
            "and run with data.download=false."
        ) from error
    finally:
        socket.setdefaulttimeout(previous)

