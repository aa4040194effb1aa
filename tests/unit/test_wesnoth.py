"""Real RGBA pictures of mixed sizes from ../shared/data/wesnoth: the loader, transparent pixels and the labels of
class folders (skipped when the folder is absent)."""

import shutil

import pytest
import torch
from omegaconf import OmegaConf

from gan.data.image_folder import ImageFolderDataModule, load_image
from gan.validate.data import infer_num_classes
from tests.conftest import SHARED_DATA

WESNOTH = SHARED_DATA / "wesnoth"
pytestmark = pytest.mark.skipif(not (WESNOTH / "portraits").is_dir() or not (WESNOTH / "units").is_dir(),
                                reason=f"no Wesnoth pictures under {WESNOTH}")
FACTIONS = ("drakes", "merfolk", "undead")  # square 500 px and 447 x 460 portraits among them


@pytest.fixture(scope="module")
def few_portraits(tmp_path_factory):
    """4 portraits of each of 3 factions (undead's one folder deeper), with the credits file beside them."""
    root = tmp_path_factory.mktemp("wesnoth") / "portraits"
    for faction in FACTIONS:
        target = root / faction / ("nested" if faction == "undead" else "")
        target.mkdir(parents=True)
        for path in sorted((WESNOTH / "portraits" / faction).glob("*.png"))[:4]:
            shutil.copy(path, target / path.name)
    shutil.copy(WESNOTH / "portraits" / "ARTISTS", root / "ARTISTS")
    shutil.copy(WESNOTH / "portraits" / "ARTISTS", root / "drakes" / "ARTISTS")
    return root


def test_the_loader_reads_real_rgba_portraits_of_mixed_sizes(few_portraits):
    from PIL import Image

    sizes = set()
    for path in few_portraits.rglob("*.png"):
        with Image.open(path) as image:
            assert image.mode == "RGBA"
            sizes.add(image.size)
    assert len(sizes) > 1  # mixed sizes, not all square
    datamodule = ImageFolderDataModule(str(few_portraits), image_size=32, batch_size=4, labels="folders")
    datamodule.setup()
    images, labels = datamodule.dataset[list(range(len(datamodule.dataset)))]
    assert images.shape == (12, 3, 32, 32) and images.min() >= -1 and images.max() <= 1  # ARTISTS files left out
    assert datamodule.classes == list(FACTIONS) and datamodule.num_classes == 3  # counted, not given
    assert torch.bincount(labels).tolist() == [4, 4, 4]  # the nested undead folder is still its faction


def test_transparent_pixels_take_the_named_background(few_portraits):
    path = next((few_portraits / "drakes").glob("*.png"))
    white, black = load_image(path, 32, 3, background="white"), load_image(path, 32, 3, background="black")
    assert (white >= black).all()  # only the transparent parts differ, and white is above black there
    assert (white - black).max() == 255  # fully transparent pixels: 255 on white, 0 on black
    assert (white == black).any()  # opaque pixels are the picture's own on both


def test_class_folders_are_counted_as_torchvisions_imagefolder_does():
    from torchvision.datasets.folder import find_classes

    for folder, expected in (("portraits", 15), ("units", None)):
        data = OmegaConf.create({"root": str(WESNOTH / folder), "labels": "folders", "num_classes": None})
        infer_num_classes(data)
        classes = find_classes(str(WESNOTH / folder))[0]
        assert data.num_classes == len(classes) == (expected or len(classes))
