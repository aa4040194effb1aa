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
from gan.sample import main
from tests.conftest import compose_config, one_line_error
from tests.e2e.test_dcgan import NARROW
from tests.unit.test_dcgan import make_image_folder


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


# ---- what a user can get wrong: one `error:` line, nothing created, nothing left over -------------------------
def refused(argv: list[str]) -> str:
    return one_line_error(main, argv)


def test_bad_values_are_refused_before_anything_is_created(dcgan_run, tmp_path):
    run = str(dcgan_run)
    assert "-n 0" in refused([run, "-n", "0", "--out", str(tmp_path / "n0")])
    assert "--steps -3" in refused([run, "--interpolate", "--steps", "-3", "--out", str(tmp_path / "steps")])
    a_file = tmp_path / "file.txt"
    a_file.write_text("mine\n")
    assert "is a file" in refused([run, "--out", str(a_file)])
    under = refused([run, "--out", str(a_file / "sub")])  # fails for root too, unlike a chmod
    assert str(a_file) in under and "give --out a folder you can write to" in under
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"] and a_file.read_text() == "mine\n"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
@pytest.mark.parametrize("command", ["gan.sample", "gan.evaluate"])
def test_cuda_on_a_cpu_machine_is_one_line(dcgan_run, tmp_path, command):
    result = subprocess.run([sys.executable, "-m", command, str(dcgan_run), "--device", "cuda", *(
        ["--out", str(tmp_path / "s")] if command == "gan.sample" else ["--output", str(tmp_path / "e.json")])],
        capture_output=True, text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert lines[0] == "error: --device cuda: no CUDA device is available on this machine; use --device cpu."
    assert not any(tmp_path.iterdir())


def test_sampling_again_replaces_only_its_own_files(dcgan_run, tmp_path):
    out = tmp_path / "again"
    main([str(dcgan_run), "-n", "5", "--out", str(out), "--interpolate", "--steps", "3"])
    (out / "notes.txt").write_text("mine\n")
    (out / "images" / "keep.png").write_bytes(b"not ours")
    main([str(dcgan_run), "-n", "2", "--out", str(out)])
    assert sorted(p.name for p in (out / "images").iterdir()) == ["0000.png", "0001.png", "keep.png"]
    assert not (out / "interpolation.png").exists() and (out / "notes.txt").read_text() == "mine\n"
    assert torch.load(out / "samples.pt", weights_only=True).shape[0] == 2


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    """A Gaussian and a ring run of two training steps each, with their checkpoints (read only)."""
    tmp = tmp_path_factory.mktemp("toys")
    for name, overrides in {"gaussian": [], "ring": ["model=mixture", "data=ring"]}.items():
        train(compose_config([*overrides, "logger=none", "trainer.max_steps=2"], tmp / name))
        GlobalHydra.instance().clear()
    return tmp


@pytest.mark.parametrize(("run", "args", "message"), [
    ("ring", ["--label", "7"], "--label/--per-class: this model is not conditional"),
    ("gaussian", ["--interpolate"], "--interpolate: this model draws numbers, not images"),
    ("ring", ["--interpolate"], "--interpolate: this model draws points, not images"),
    ("ring", ["--code", "1"], "--code: this model has no latent codes"),
])
def test_options_a_toy_model_cannot_honour_are_refused(toy_runs, tmp_path, run, args, message):
    assert message in refused([str(toy_runs / run), *args, "--out", str(tmp_path / "s")])
    assert not (tmp_path / "s").exists()


HELP_IMPORTS = """
import runpy, sys
sys.argv = [sys.argv[1], "--help"]
try:
    runpy.run_module(sys.argv[0], run_name="__main__")
except SystemExit:
    pass
print("torch imported" if "torch" in sys.modules else "no torch")
"""


@pytest.mark.parametrize("command", ["gan.sample", "gan.evaluate"])
def test_help_imports_no_torch(command):
    result = subprocess.run([sys.executable, "-c", HELP_IMPORTS, command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and f"usage: python -m {command}" in result.stdout, result.stderr
    assert result.stdout.strip().endswith("no torch"), result.stdout[-300:]
