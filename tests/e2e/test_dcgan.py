"""The Tom & Jerry notebook's DCGAN trained: on a messy image folder, data=tomjerry's missing frames,
experiment=dcgan_seed and experiment=folder_best."""

import logging
import math

import pytest
from PIL import Image

from gan.errors import DataError
from gan.run import train
from tests.unit.test_dcgan import make_image_folder

NARROW = ["model=dcgan", "model.generator.width=4", "model.discriminator.width=4", "logger=none"]


def test_missing_tomjerry_says_where_to_get_and_put_frames(make_cfg, tmp_path):
    cfg = make_cfg("model=dcgan", "data=tomjerry", "logger=none", data_dir=tmp_path / "data")
    with pytest.raises(DataError) as error:
        train(cfg)
    message = str(error.value)
    assert "Tom and Jerry image classification" in message
    assert str(tmp_path / "data" / "tomjerry") in message


# ---- training on the shared loop ----------------------------------------------------------------
def test_fast_dev_run_on_a_messy_folder(make_cfg, tmp_path, caplog):
    root = make_image_folder(tmp_path / "imgs")
    caplog.set_level(logging.WARNING, logger="gan.data.image_folder")
    cfg = make_cfg(*NARROW, "data=image_folder", f"data.root={root}", "data.image_size=32", "data.batch_size=4",
                   "trainer.fast_dev_run=true")
    assert cfg.model.generator.image_size == 32 and cfg.model.latent_shape == [128]
    metrics = train(cfg)
    assert math.isfinite(metrics["train/d_loss"]) and math.isfinite(metrics["train/g_loss"])
    assert any("broken.png" in r.getMessage() for r in caplog.records)


def test_seed_experiment_recipe_and_grid(make_cfg, tmp_path):
    make_image_folder(tmp_path / "data" / "tomjerry", n_rgb=2)
    cfg = make_cfg("experiment=dcgan_seed", "model.generator.width=2", "model.discriminator.width=2",
                   "data.batch_size=4", "trainer.max_steps=1", data_dir=tmp_path / "data")
    assert cfg.data.image_size == 128 and cfg.trainer.max_epochs == 1200
    assert cfg.callbacks.sample_grid.every_n_epochs == 50 and cfg.model.g_lr == 2e-4
    assert list(cfg.model.g_optimizer.betas) == [0.5, 0.999]
    train(cfg)
    run = tmp_path / "run"
    assert (run / "generated" / "generated-images-0001.png").is_file()  # the original's name for epoch 1
    with Image.open(run / "generated" / "generated-images-0001.png") as grid:
        assert grid.size == (8 * 128 + 9 * 2, 8 * 128 + 9 * 2)  # 8 x 8 images with make_grid's padding
    assert list(run.glob("events.out.tfevents.*")), "the grid also goes to TensorBoard"


def test_folder_recipe_fast_dev_run(make_cfg, tmp_path):
    """experiment=folder_best as users run it (its own widths), one step on a small messy folder at 64 px."""
    root = make_image_folder(tmp_path / "imgs")
    cfg = make_cfg("experiment=folder_best", f"data.root={root}", "data.batch_size=4", "logger=none",
                   "trainer.fast_dev_run=true")
    assert cfg.data.image_size == 64 and cfg.model.loss == "hinge" and cfg.model.discriminator.spectral_norm
    assert list(cfg.model.augment) == ["color", "translation", "cutout"] and cfg.model.discriminator.norm == "none"
    metrics = train(cfg)
    assert math.isfinite(metrics["train/d_loss"]) and math.isfinite(metrics["train/g_loss"])
    with Image.open(next((tmp_path / "run" / "samples").glob("*.png"))) as grid:
        assert grid.size == (8 * 64 + 9 * 2, 8 * 64 + 9 * 2)
