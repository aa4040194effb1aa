"""A quality figure for any image folder, offline: self-supervised features built on first need (unlabelled
folders), a classifier of its class folders (data.labels=folders); both on real sprites from ../shared/data/wesnoth."""

import json
import math
from pathlib import Path

import pytest
import torch

from gan.eval.evaluator import ImageEvaluator
from gan.eval.folder_features import folder_images, load_folder_features
from gan.eval.image import frechet_distance
from gan.run import train
from tests.unit import test_folder_features as unit_half
from tests.unit.test_folder_features import (
    TINY,
    Copies,
    evaluator_for,
    folder_data,
    sprites,
)

# The unit half's skip mark and autouse fixture, here too (pytest reads both from the module's attributes).
pytestmark = unit_half.pytestmark
_one_thread = unit_half._one_thread


BUILDING = "training them now"


def test_first_need_build_is_cached_keyed_by_the_folder_and_named_in_the_figures(tmp_path, capsys):
    root, cache = sprites(tmp_path / "sprites"), tmp_path / "cache"
    images = folder_images(folder_data(root))[0].float() / 127.5 - 1
    evaluator = evaluator_for(root, cache)
    assert evaluator.route == "self-supervised" and not evaluator.path.exists()
    figures = evaluator.evaluate(Copies(images, 0.3))
    assert BUILDING in capsys.readouterr().out and evaluator.path.is_file()
    assert evaluator.path.parent == cache / "features" and evaluator.path.name.startswith("folder-sprites-simclr-")
    for name in ("fid", "kid", "precision", "recall", "density", "coverage"):
        assert math.isfinite(figures[name]) and math.isfinite(figures[f"{name}_floor"])
    assert "class_entropy" not in figures and figures["eval_samples"] == 24  # half the 48 images; no classes
    assert "self-supervised (simclr)" in evaluator.feature_space() and str(root) in evaluator.feature_space()
    assert "self-supervised (simclr)" in evaluator.describe()[0][0]

    built = evaluator.path.stat().st_mtime_ns
    again = evaluator_for(root, cache)  # a second run: the file is found, nothing is trained
    assert again.path == evaluator.path and again.evaluate(Copies(images, 0.3)) == figures
    assert BUILDING not in capsys.readouterr().out and evaluator.path.stat().st_mtime_ns == built

    (root / "drakes" / sorted(p.name for p in (root / "drakes").iterdir())[0]).unlink()  # the folder changes
    assert evaluator_for(root, cache).path != evaluator.path
    assert evaluator_for(root, cache, steps=31).path.name != evaluator.path.name  # and so do the settings


def test_the_figure_ranks_noised_blurred_and_mode_dropped_copies_below_the_real_set(tmp_path):
    root, cache = sprites(tmp_path / "sprites", per_faction=32), tmp_path / "cache"
    evaluator = evaluator_for(root, cache)
    evaluator.prepare()
    features = load_folder_features(evaluator.path)[0]
    images, factions = folder_images(folder_data(root, labels="folders", num_classes=3))
    images = images.float() / 127.5 - 1
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    reference, other, other_factions = images[order[:48]], images[order[48:]], factions[order[48:]]
    noise = torch.randn(other.shape, generator=torch.Generator().manual_seed(1))
    fid = lambda copy: frechet_distance(features(reference), features(copy.clamp(-1, 1)))  # noqa: E731
    blur = lambda k: torch.nn.functional.avg_pool2d(other, k).repeat_interleave(k, 2).repeat_interleave(k, 3)  # noqa: E731
    one_faction = other[other_factions == 0]
    floor, noised, more = fid(other), fid(other + 0.4 * noise), fid(other + 0.8 * noise)
    blurred, more_blurred = fid(blur(2)), fid(blur(4))
    dropped = fid(one_faction[torch.arange(len(other)) % len(one_faction)])
    # Margins well inside what seeds 0-3 gave (noise 0.4: floor x 2.1 or more, 0.8: x 3.4 the 0.4's; 4 px blur:
    # x 1.5 the floor or more), so another CPU's rounding passes; the figures: (floor, noised, ...).
    assert floor < noised / 1.5 and noised < more / 1.5, (floor, noised, more)
    assert floor < more_blurred / 1.2 and blurred < more_blurred, (floor, blurred, more_blurred)
    assert floor < dropped / 1.5, (floor, dropped)


def test_cdcgan_on_labelled_sprites_gets_class_accuracy_and_intra_fid(make_cfg, tmp_path, capsys):
    root = sprites(tmp_path / "sprites")
    cfg = make_cfg("experiment=cdcgan", "data=image_folder", f"data.root={root}", "data.labels=folders",
                   "data.num_classes=3", "data.image_size=32", "data.batch_size=8", "model.generator.width=4",
                   "model.discriminator.width=4", "logger=none", "trainer.max_steps=2", "trainer.max_epochs=1",
                   "model.eval_samples=60", "eval.kid_subset_size=10", "eval.nearest_k=3",
                   "+eval.feature_build.folder_epochs=3", "+eval.feature_build.folder_min_accuracy=0",
                   "eval.feature_build.self_supervised={min_images: 40}")
    metrics = train(cfg)
    out = capsys.readouterr().out
    assert "feature classifier for" in out and "test accuracy" in out
    for name in ("class_accuracy", "intra_fid", "fid", "fid_floor", "class_entropy"):
        assert math.isfinite(metrics[name]), name
    assert 0 <= metrics["class_accuracy"] <= 1
    assert metrics["features"].startswith(f"classifier of the class folders of {root} (held-out accuracy ")
    saved = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert saved["features"] == metrics["features"] and "folder-sprites-classifier-" in saved["features"]
    from gan.evaluate import evaluate, format_report

    report = evaluate(cfg.paths.output_dir, cache_dir=cfg.paths.cache_dir)  # the same file, found, not rebuilt
    assert report["features"] == metrics["features"] and "intra_fid" in report["figures"]
    assert f"features:     {metrics['features']}" in format_report(report)


def test_gan_features_builds_a_folders_features_where_its_runs_look(tmp_path, capsys):
    """`python -m gan.features data=image_folder data.root=<folder>` writes the file the evaluator then finds:
    self-supervised features for an unlabelled folder, the class-folder classifier with data.labels=folders."""
    from omegaconf import OmegaConf

    from gan.features import build_here
    from tests.e2e.test_evaluate_cli import features_config

    root, cache = sprites(tmp_path / "sprites"), tmp_path / "cache"
    tiny = "self_supervised={" + ", ".join(f"{k}: {v}" for k, v in TINY.items()) + "}"
    common = ["data=image_folder", f"data.root={root}", "data.image_size=32", f"paths.cache_dir={cache}"]
    cfg = features_config(*common, tiny)
    build_here(cfg)
    evaluator = ImageEvaluator(OmegaConf.to_container(cfg.data, resolve=True), str(cache / "features" / "x.pt"),
                               cache_dir=str(cache), feature_build={"self_supervised": dict(TINY)})
    assert BUILDING in capsys.readouterr().out and evaluator.path.is_file()
    built = evaluator.path.stat().st_mtime_ns
    build_here(cfg)  # a second time: found, nothing trained
    assert "already at" in capsys.readouterr().out and evaluator.path.stat().st_mtime_ns == built
    build_here(features_config(*common, tiny, "rebuild=true"))
    assert BUILDING in capsys.readouterr().out and evaluator.path.stat().st_mtime_ns != built

    labelled = features_config(*common, "data.labels=folders", "folder_epochs=2", "folder_min_accuracy=0")
    build_here(labelled)
    evaluator = ImageEvaluator(OmegaConf.to_container(labelled.data, resolve=True), str(cache / "features" / "x.pt"),
                               cache_dir=str(cache), feature_build={"folder_epochs": 2, "folder_min_accuracy": 0})
    assert evaluator.route == "folder-classifier" and evaluator.path.is_file()
    assert evaluator.path.name.startswith("folder-sprites-classifier-")


def test_gan_features_refuses_a_folder_too_small_for_features_of_its_own(tmp_path):
    from gan.errors import DataError
    from gan.features import build_here
    from tests.e2e.test_evaluate_cli import features_config

    root, cache = sprites(tmp_path / "sprites", per_faction=5), tmp_path / "cache"
    with pytest.raises(DataError, match="has 15 images, fewer than the 100"):
        build_here(features_config("data=image_folder", f"data.root={root}", f"paths.cache_dir={cache}"))
    assert not (cache / "features").exists()


def test_a_folders_real_features_are_kept_on_disk_and_read_again_when_it_changes(tmp_path, monkeypatch):
    """A second process finds the folder's reference and floor features in the cache and decodes no image; a
    changed folder is read again."""
    import gan.eval.evaluator

    root, cache = sprites(tmp_path / "sprites"), tmp_path / "cache"
    images = folder_images(folder_data(root))[0].float() / 127.5 - 1
    figures = evaluator_for(root, cache).evaluate(Copies(images, 0.3))
    saved = sorted(p.name for p in (cache / "reference").iterdir())
    assert len(saved) == 2 and all(name.startswith("folder-sprites-") for name in saved), saved

    monkeypatch.setattr(gan.eval.evaluator, "_REAL", {})  # a new process: nothing in memory
    monkeypatch.setattr(gan.eval.evaluator, "_FLOORS", {})
    decoded = []
    reading = ImageEvaluator._folder_images
    monkeypatch.setattr(ImageEvaluator, "_folder_images", lambda *a, **k: decoded.append(1) or reading(*a, **k))
    assert evaluator_for(root, cache).evaluate(Copies(images, 0.3)) == figures and not decoded

    (root / "drakes" / sorted(p.name for p in (root / "drakes").iterdir())[0]).unlink()
    evaluator_for(root, cache, steps=200).evaluate(Copies(images, 0.3))
    assert decoded and len(list((cache / "reference").iterdir())) == 4
