"""`python -m gan.sample` and `gan.checkpoint.load_model` on checkpoints of tiny real runs."""

import csv
import subprocess
import sys

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from gan.checkpoint import find_checkpoint, load_model
from gan.errors import DataError
from gan.models.gaussian import GaussianGAN
from gan.models.image import ImageGAN
from gan.run import train
from gan.sample import interpolate, main
from tests.conftest import compose_config
from tests.test_dcgan import NARROW, make_image_folder


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    """A 2-step 32 px DCGAN run (narrow nets) with its checkpoints, shared by this module's tests (read only)."""
    tmp = tmp_path_factory.mktemp("dcgan")
    root = make_image_folder(tmp / "imgs")
    overrides = [*NARROW, "data=image_folder", f"data.root={root}", "data.image_size=32", "data.batch_size=4",
                 "trainer.max_steps=2"]
    train(compose_config(overrides, tmp / "run"))
    GlobalHydra.instance().clear()
    return tmp / "run"


def test_images_from_a_checkpoint(dcgan_run, tmp_path):
    out = tmp_path / "samples"
    main([str(dcgan_run / "checkpoints" / "last.ckpt"), "-n", "5", "--out", str(out), "--interpolate", "--steps", "4"])
    images = torch.load(out / "samples.pt", weights_only=True)
    assert images.shape == (5, 3, 32, 32) and images.abs().max() <= 1.0
    assert sorted(p.name for p in (out / "images").iterdir()) == [f"{i:04d}.png" for i in range(5)]
    with Image.open(out / "images" / "0000.png") as first:
        assert first.size == (32, 32)
    with Image.open(out / "grid.png") as grid:
        assert grid.size == (3 * 32 + 4 * 2, 2 * 32 + 3 * 2)  # ceil(sqrt(5)) = 3 per row, 2 rows
    with Image.open(out / "interpolation.png") as strip:
        assert strip.size == (4 * 32 + 5 * 2, 32 + 2 * 2)


def test_run_directory_default_out_and_seed(dcgan_run, tmp_path):
    main([str(dcgan_run), "-n", "3", "--seed", "7"])
    first = torch.load(dcgan_run / "sampled" / "samples.pt", weights_only=True)
    main([str(dcgan_run), "-n", "3", "--seed", "7", "--out", str(tmp_path / "again")])
    assert torch.equal(first, torch.load(tmp_path / "again" / "samples.pt", weights_only=True))


def test_load_model_restores_the_trained_generator(dcgan_run):
    model, cfg = load_model(dcgan_run)
    assert isinstance(model, ImageGAN) and cfg.data.image_size == 32
    assert all(p.device.type == "cpu" for p in model.parameters())
    saved = torch.load(dcgan_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    assert torch.equal(model.state_dict()["generator.net.0.weight"], saved["generator.net.0.weight"])
    assert find_checkpoint(dcgan_run / "checkpoints" / "last.ckpt")[1] == dcgan_run


def test_gaussian_checkpoint_gives_csv_and_histogram(make_cfg, tmp_path):
    train(make_cfg("trainer.max_epochs=1", "data.steps_per_epoch=3", "logger=none"))
    out = tmp_path / "gauss"
    main([str(tmp_path / "run"), "-n", "500", "--out", str(out)])
    with open(out / "samples.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["sample"] and len(rows) == 501
    assert all(torch.isfinite(torch.tensor(float(r[0]))) for r in rows[1:])
    assert (out / "histogram.png").stat().st_size > 0
    assert isinstance(load_model(tmp_path / "run")[0], GaussianGAN)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_model(tmp_path / "no-such-run")
    (tmp_path / "empty-run").mkdir()
    with pytest.raises(DataError, match="no checkpoints"):
        load_model(tmp_path / "empty-run")
    with pytest.raises(SystemExit, match="^error: .*does not exist"):
        main([str(tmp_path / "no-such-run")])


def test_cli_entry_point_runs(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gan.sample", str(tmp_path / "missing")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_spherical_interpolation_keeps_the_ends():
    a, b = torch.randn(16), torch.randn(16)
    path = interpolate(a, b, 5, spherical=True)
    assert path.shape == (5, 16)
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
