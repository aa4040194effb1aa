"""The Tom & Jerry notebook's DCGAN: network shapes and widths, and the image-folder data."""

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from gan.data.image_folder import ImageFolderDataModule
from gan.errors import ConfigError, DataError
from gan.networks.dcgan import DCGANDiscriminator, DCGANGenerator


def make_image_folder(root: Path, n_rgb: int = 6) -> Path:
    """RGB PNGs of odd sizes, grayscale, RGBA, palette GIF, a JPEG, nested folders, and one corrupt file."""
    rng = np.random.default_rng(0)
    (root / "tom" / "deeper").mkdir(parents=True)
    (root / "jerry").mkdir()
    for i in range(n_rgb):
        Image.fromarray(rng.integers(0, 256, (37 + 3 * i, 51, 3), dtype=np.uint8)).save(root / "tom" / f"{i}.png")
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (64, 40), dtype=np.uint8), "L").save(root / "tom" / "deeper" / f"g{i}.png")
    Image.fromarray(rng.integers(0, 256, (48, 48, 4), dtype=np.uint8), "RGBA").save(root / "jerry" / "alpha.png")
    Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).convert("P").save(root / "jerry" / "pal.gif")
    Image.fromarray(rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)).save(root / "jerry" / "frame.JPG")
    (root / "jerry" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    (root / "notes.txt").write_text("not an image, not counted")
    return root


# ---- networks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [28, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_network_shapes(size, channels):
    g = DCGANGenerator(latent_dim=16, image_size=size, channels=channels, width=4)
    d = DCGANDiscriminator(image_size=size, channels=channels, width=4)
    images = g(torch.randn(3, 16))
    assert images.shape == (3, channels, size, size)
    assert images.abs().max() <= 1.0  # tanh range
    assert d(images).shape == (3,)


def _convs(net: nn.Module, kind) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, kind)]


def test_seed_widths_at_128_px():
    g, d = DCGANGenerator(128, 128, 3, 64), DCGANDiscriminator(128, 3, 64)
    g_convs = _convs(g, nn.ConvTranspose2d)
    assert [c.in_channels for c in g_convs] + [g_convs[-1].out_channels] == [128, 512, 256, 128, 64, 3]
    assert all(c.kernel_size == (4, 4) and c.bias is None for c in g_convs)
    assert [c.stride[0] for c in g_convs[:4]] == [1, 2, 2, 2] and g_convs[0].padding == (0, 0)
    assert [m.num_features for m in _convs(g, nn.BatchNorm2d)] == [512, 256, 128, 64]
    assert len(_convs(g, nn.ReLU)) == 4 and isinstance(g.net[-1], nn.Tanh)

    d_convs = _convs(d, nn.Conv2d)
    assert [c.in_channels for c in d_convs] + [1] == [3, 64, 128, 256, 512, 1024, 1]
    assert all(c.kernel_size == (4, 4) and c.bias is None for c in d_convs)
    assert all(c.stride == (2, 2) and c.padding == (1, 1) for c in d_convs[:-1])
    assert d_convs[-1].stride == (1, 1) and d_convs[-1].padding == (0, 0)
    assert [m.negative_slope for m in _convs(d, nn.LeakyReLU)] == [0.2] * 5
    assert isinstance(d.net[-1], nn.Conv2d)  # logits: no sigmoid layer


def test_28_px_grows_from_and_reads_a_7x7_map():
    g, d = DCGANGenerator(64, 28, 1, 64), DCGANDiscriminator(28, 1, 64)
    g_convs, d_convs = _convs(g, nn.ConvTranspose2d), _convs(d, nn.Conv2d)
    assert [c.in_channels for c in g_convs] + [g_convs[-1].out_channels] == [64, 128, 64, 1]
    assert g_convs[0].kernel_size == (7, 7) and [c.stride[0] for c in g_convs] == [1, 2, 2]
    assert g.net[:3](torch.randn(2, 64, 1, 1)).shape == (2, 128, 7, 7)
    assert [c.in_channels for c in d_convs] == [1, 64, 128] and d_convs[-1].kernel_size == (7, 7)
    assert d.net[:-1](torch.randn(2, 1, 28, 28)).shape == (2, 128, 7, 7)


def test_generator_accepts_flat_or_4d_noise():
    g = DCGANGenerator(latent_dim=8, image_size=32, width=2).eval()
    z = torch.randn(2, 8)
    assert torch.equal(g(z), g(z.view(2, 8, 1, 1)))


@pytest.mark.parametrize("size", [16, 48, 56, 256])
def test_unsupported_size_is_a_config_error(size):
    with pytest.raises(ConfigError, match="28, 32, 64, 128"):
        DCGANGenerator(image_size=size)


# ---- image folder data --------------------------------------------------------------------------
def test_folder_is_read_converted_and_cached(tmp_path, caplog):
    root = make_image_folder(tmp_path / "imgs")
    caplog.set_level(logging.WARNING, logger="gan.data.image_folder")
    dm = ImageFolderDataModule(root, image_size=32, channels=3, batch_size=4)
    dm.setup()
    assert len(dm.dataset) == 11  # 6 RGB + 2 gray + RGBA + GIF + JPEG; not the corrupt PNG or the .txt
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 1 " in warnings[0].getMessage()
    assert "broken.png" in warnings[0].getMessage()
    batch = next(iter(dm.train_dataloader()))
    assert batch.shape == (4, 3, 32, 32) and batch.dtype == torch.float32
    assert batch.min() >= -1.0 and batch.max() <= 1.0 and batch.min() < 0 < batch.max()
    assert dm.sample_shape == (3, 32, 32)
    assert len(dm.train_dataloader()) == 2  # 11 images, full batches of 4


def test_per_item_decoding_gives_the_cached_values(tmp_path):
    root = make_image_folder(tmp_path / "imgs")
    cached = ImageFolderDataModule(root, image_size=32, channels=1, batch_size=4)
    streamed = ImageFolderDataModule(root, image_size=32, channels=1, batch_size=4, cache_bytes=0, num_workers=0)
    cached.setup(), streamed.setup()
    assert type(cached.dataset).__name__ == "_CachedImages" and type(streamed.dataset).__name__ == "_ImageFiles"
    for i in (0, 5, 10):
        assert torch.equal(cached.dataset[[i]][0], streamed.dataset[i])
    assert streamed.dataset[0].shape == (1, 32, 32)


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)  # fully transparent black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    dm = ImageFolderDataModule(tmp_path, image_size=4, batch_size=1)
    dm.setup()
    assert torch.all(dm.dataset.images == 255)


def test_missing_or_empty_folder_names_it(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        ImageFolderDataModule(tmp_path / "nope", image_size=32).setup()
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(DataError, match=r"empty.* holds no images"):
        ImageFolderDataModule(tmp_path / "empty", image_size=32).setup()
