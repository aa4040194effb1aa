"""Image-folder features without a build: a folder too small for features of its own, and the held-out share a
labelled folder's classifier is tested on; on real sprites from ../shared/data/wesnoth."""

import shutil
from pathlib import Path

import pytest
import torch

from gan.eval.evaluator import ImageEvaluator
from gan.features import carve_held_out
from tests.conftest import SHARED_DATA

UNITS = SHARED_DATA / "wesnoth" / "units"
pytestmark = pytest.mark.skipif(not UNITS.is_dir(), reason=f"the wesnoth sprites are not at {UNITS}")

FACTIONS = ("drakes", "merfolk", "undead")
# About 4 CPU-s at 32 px: features that rank strong damage on a few dozen images (the default is 300 steps at
# width 32, 128 features: benchmarks/folder_features.py).
TINY = {"steps": 200, "batch_size": 32, "width": 16, "num_features": 16, "min_images": 40}


@pytest.fixture(autouse=True)
def _one_thread():
    """One thread, as the timings in the comments were taken: two threads on a busy 2-core box spin for minutes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sprites(root: Path, per_faction: int = 16) -> Path:
    """`per_faction` sprites of each of three factions, copied into class folders under `root`."""
    for faction in FACTIONS:
        (root / faction).mkdir(parents=True, exist_ok=True)
        for path in sorted((UNITS / faction).rglob("*.png"))[:per_faction]:
            shutil.copy2(path, root / faction / path.name)
    return root


def folder_data(root: Path, **extra) -> dict:
    return {"_target_": "gan.data.image_folder.ImageFolderDataModule", "root": str(root), "image_size": 32,
            "channels": 3, "batch_size": 8, **extra}


class Copies:
    """A stand-in generator whose images are the folder's own images with Gaussian noise of `std` added."""

    device = torch.device("cpu")

    def __init__(self, images: torch.Tensor, std: float) -> None:
        self.images, self.std = images, std

    def sample_noise(self, n: int, device=None) -> torch.Tensor:
        return torch.arange(n).float()

    def generate(self, noise: torch.Tensor) -> torch.Tensor:
        picked = self.images[noise.long() % len(self.images)]
        return (picked + self.std * torch.randn(picked.shape)).clamp(-1, 1)


def evaluator_for(root: Path, cache: Path, **settings) -> ImageEvaluator:
    return ImageEvaluator(folder_data(root), str(cache / "features" / "unlabelled-classifier.pt"), samples=24,
                          kid_subset_size=10, nearest_k=3, cache_dir=str(cache),
                          feature_build={"self_supervised": {**TINY, **settings}})


def test_a_folder_too_small_for_features_of_its_own_says_so_and_builds_nothing(tmp_path):
    root, cache = sprites(tmp_path / "sprites", per_faction=5), tmp_path / "cache"
    evaluator = evaluator_for(root, cache, min_images=100)
    assert not evaluator.can_measure() and evaluator.evaluate(Copies(torch.zeros(1, 3, 32, 32), 0.1)) == {}
    assert any("has 15 images, fewer than the 100" in line for line in evaluator.describe()[1])
    assert not (cache / "features").exists()


def test_a_labelled_folder_carves_the_same_held_out_share_of_each_class(tmp_path):
    from gan.data.image_folder import ImageFolderDataModule

    root = sprites(tmp_path / "sprites", per_faction=10)
    datamodule = ImageFolderDataModule(str(root), image_size=16, labels="folders", num_classes=3)
    datamodule.setup()
    (train_x, train_y), (test_x, test_y) = carve_held_out(datamodule, 0.2, seed=0)
    assert torch.bincount(test_y).tolist() == [2, 2, 2] and torch.bincount(train_y).tolist() == [8, 8, 8]
    again = carve_held_out(datamodule, 0.2, seed=0)[1][0]
    assert torch.equal(again, test_x)
    assert not any(torch.equal(t, x) for t in test_x for x in train_x)  # no held-out image is trained on
