"""What a user can get wrong, answered by the checks and parts themselves, without a run: bad values caught before
torch is imported, the model and data pairs that fit, 16-bit images and decompression bombs, trainer.max_time, the
vanilla grid's shape and what the evaluator says of a labelled folder."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import open_dict
from PIL import Image

from gan.data.image_folder import load_image


def test_16_bit_images_are_scaled_not_clipped(tmp_path):
    gradient = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (64, 1))  # left black, right white
    Image.fromarray(gradient).save(tmp_path / "g16.png")  # a 16-bit greyscale PNG
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    image = load_image(tmp_path / "g16.png", image_size=64, channels=1).float()
    assert (image == 255).float().mean() < 0.05  # clipped, 97 % of pixels were white
    assert abs(image.mean().item() - 127.5) < 3 and image[0, :, 0].max() < 10 and image[0, :, -1].min() > 245
    rgb = load_image(tmp_path / "g16.png", image_size=64, channels=3)  # the same picture, as RGB
    assert torch.equal(rgb[0], rgb[2]) and abs(rgb.float().mean().item() - 127.5) < 3


def test_decompression_bombs_are_named_with_the_key_that_allows_them(monkeypatch, tmp_path):
    from gan.data.image_folder import ImageFolderDataModule
    from gan.errors import DataError

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after the test
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "big.png")  # 1600 pixels
    with pytest.raises(DataError, match="decompression bomb.*data.max_image_pixels"):
        ImageFolderDataModule(str(tmp_path), image_size=32, max_image_pixels=100).setup()
    ImageFolderDataModule(str(tmp_path), image_size=32, max_image_pixels=None).setup()  # allowed when trusted


# Values that ended in a traceback (or a run folder) and now end in one line from the fast checks, before torch.
# {file}: a file where a folder belongs; image-folder runs get a folder of images, MNIST runs the real files.
FAST_VALUE_ERRORS = [
    (["model=vanilla", "data=mnist", "data.batch_size=1.5"], "data.batch_size=1.5: must be a whole number"),
    (["model=vanilla", "data=mnist", "data.batch_size=abc"], "data.batch_size='abc': must be a whole number"),
    (["model=vanilla", "data=mnist", "data.batch_size=0"], "data.batch_size=0"),
    (["model.gradient_penalty=abc"], "model.gradient_penalty='abc': must be a number"),
    (["model.ema_decay=abc"], "model.ema_decay='abc': must be a number"),
    (["model=vanilla", "data=mnist", "model.num_fixed=0"], "model.num_fixed=0"),
    (["trainer.check_val_every_n_epoch=0"], "trainer.check_val_every_n_epoch=0"),
    (["trainer.max_epochs=0"], "trainer.max_epochs=0: give a positive number of epochs"),
    (["threads=abc"], "threads='abc'"),
    (["model=dcgan", "data=image_folder", "model.generator.latent_dim=0"], "model.generator.latent_dim=0"),
    (["trainer.devices=3"], "use trainer=ddp_cpu trainer.devices=3"),
    (["model=vanilla", "data=gaussian"], "data=gaussian goes with model=gaussian"),
    (["model=gaussian", "data=mnist"], "data=mnist goes with an image model"),
    (["data=ring"], "data=ring goes with model=mixture"),
    (["data.sample_size=1"], "data.sample_size=1"),
    (["data.sample_size=abc"], "data.sample_size='abc'"),
    (["data.std=0"], "data.std=0"),
    (["data.std=abc"], "data.std='abc'"),
    (["model=dcgan", "data=image_folder", "data.root={file}"], "is a file, not a folder"),
    (["model=vanilla", "data=mnist", "eval.nearest_k=0"], "eval.nearest_k=0: give 1 or more"),
    (["model=dcgan", "data=image_folder", "eval.kid_subsets=abc"], "eval.kid_subsets='abc': must be a whole number"),
]


def _bad_value_argv(argv: list[str], tmp_path: Path) -> list[str]:
    from tests.conftest import SHARED_DATA
    from tests.seed_recipes import tiny_image_folder

    argv = [a.format(file=tmp_path / "a_file") for a in argv]
    if "data=image_folder" in argv and not any(a.startswith("data.root=") for a in argv):
        argv.append(f"data.root={tiny_image_folder(tmp_path / 'images', n=2)}")  # the value is wrong, not the data
    quick = ["eval.feature_extractor=null"] if any(a in argv for a in ("model=vanilla", "model=dcgan")) else []
    return [*argv, *quick, f"paths.data_dir={SHARED_DATA}", "trainer.max_steps=2", "logger=none"]


FAST_CHECKS_PROBE = """
import json, sys
from pathlib import Path
from tests.conftest import compose_config
from gan.validate.config import check_run_keys
from gan.errors import GanError
from gan.validate.preflight import preflight

seen = []
for argv in json.loads(sys.argv[1]):
    cfg = compose_config(argv, Path(sys.argv[2]) / "run")
    try:
        check_run_keys(cfg)  # what gan.run.train checks first, then preflight's torch-free part
        preflight(cfg)
        seen.append([None, "torch" in sys.modules])
    except GanError as error:
        seen.append([str(error), "torch" in sys.modules])
print("PROBE " + json.dumps(seen))
"""


def test_bad_values_are_caught_before_torch_is_imported(tmp_path):
    """The README's promise of an answer in about a second: none of these waits for torch's import."""
    (tmp_path / "a_file").write_text("a file where a folder would go\n")
    cases = [_bad_value_argv(argv, tmp_path) for argv, _ in FAST_VALUE_ERRORS]
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", FAST_CHECKS_PROBE, json.dumps(cases), str(tmp_path)], cwd=repo,
                          env={**os.environ, "PYTHONPATH": str(repo)}, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert lines, done.stderr[-2000:]
    for (argv, says), (message, torch_imported) in zip(FAST_VALUE_ERRORS, json.loads(lines[-1][6:])):
        assert message is not None and says in message and not torch_imported, (argv, message, torch_imported)


IMAGE_MODELS = {"vanilla", "dcgan", "cgan", "infogan"}
IMAGE_DATA = {"mnist", "fashion_mnist", "kmnist", "image_folder", "tomjerry"}
FITTING = {("gaussian", "gaussian"), ("mixture", "ring"), ("mixture", "grid"),
           *((model, data) for model in IMAGE_MODELS for data in IMAGE_DATA)}


def test_every_model_and_data_pair_fits_or_says_which_fit(make_cfg, monkeypatch, tmp_path):
    import gan.validate.config
    from gan.errors import ConfigError
    from tests.conftest import config_options

    models, data_options = config_options("model"), config_options("data")
    assert set(models) == IMAGE_MODELS | {"gaussian", "mixture"}
    assert set(data_options) == IMAGE_DATA | {"gaussian", "ring", "grid"}
    # Composed once each; a pair is a model's config with another option's data node (the shapes come from it).
    data_nodes = {data: make_cfg(f"data={data}", data_dir=tmp_path).data for data in data_options}
    for model in models:
        base = make_cfg(f"model={model}", data_dir=tmp_path)
        for data, node in data_nodes.items():
            cfg = base.copy()
            with open_dict(cfg):
                cfg.data = node
            choices = {"model": f"model={model}", "data": f"data={data}"}
            monkeypatch.setattr(gan.validate.config, "_choices", lambda cfg: choices)
            if (model, data) in FITTING:
                gan.validate.config.check_model_fits_data(cfg)
                continue
            with pytest.raises(ConfigError) as error:
                gan.validate.config.check_model_fits_data(cfg)
            assert str(error.value).startswith(f"model={model} does not fit data={data}: data={data} goes with ")


def test_max_time_is_a_listed_trainer_key_passed_to_lightning(make_cfg):
    import hydra
    from pytorch_lightning.callbacks import Timer

    assert make_cfg().trainer.max_time is None  # listed: no `+` needed to set it
    trainer = hydra.utils.instantiate(make_cfg("trainer.max_time=00:00:05:00").trainer, logger=False)
    (timer,) = [c for c in trainer.callbacks if isinstance(c, Timer)]
    assert timer._duration == 300


def test_vanilla_writes_its_16_fixed_images_as_one_4_by_4_grid(make_cfg, tmp_path):
    """conf/model/vanilla.yaml: `num_fixed: 16  # ... one 4 x 4 grid`; 8 a row made it 8 x 2."""
    from types import SimpleNamespace

    import hydra

    from gan.models.image import ImageGAN
    from gan.networks.mlp import MLPDiscriminator, MLPGenerator

    cfg = make_cfg("model=vanilla", "data=mnist")
    model = ImageGAN(MLPGenerator(4, 1, 28, [8]), MLPDiscriminator(1, 28, [8]), torch.optim.Adam, torch.optim.Adam,
                     g_lr=1e-3, d_lr=1e-3, latent_shape=[4], num_fixed=cfg.model.num_fixed)
    grid = hydra.utils.instantiate(cfg.callbacks.sample_grid)
    path = grid.save(SimpleNamespace(default_root_dir=str(tmp_path), loggers=[]), model, index=1, tb_step=0)
    with Image.open(path) as picture:
        assert picture.size == (4 * 30 + 2, 4 * 30 + 2)  # 4 columns and 4 rows of 28 px, 2 px apart


def test_a_labelled_folder_is_not_called_unlabelled(tmp_path):
    from gan.eval.evaluator import ImageEvaluator

    data = {"_target_": "gan.data.image_folder.ImageFolderDataModule", "root": str(tmp_path), "labels": "folders",
            "num_classes": 2, "image_size": 32, "channels": 3}
    _, not_measured = ImageEvaluator(data, feature_extractor=str(tmp_path / "unlabelled-classifier.pt")).describe()
    assert not any("unlabelled" in line for line in not_measured), not_measured
    assert any("has 0 images, fewer than the 100" in line for line in not_measured), not_measured  # an empty folder
