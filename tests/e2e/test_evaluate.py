"""Evaluation in runs: the classifier built on first need (by gan.features, by a run, by two processes at once),
what a run says when nothing is measured, and gan.evaluate."""

import json
import logging
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from gan.eval.gaussian import gaussian_report
from gan.evaluate import main as evaluate_main
from gan.features import build, load_classifier
from gan.run import train
from tests.conftest import CONF, REPO, SHARED_DATA
from tests.e2e.test_resume import assert_same_state, load

TINY_VANILLA = [
    "model=vanilla", "data=mnist", "logger=none", "model.generator.hidden_sizes=[32]",
    "model.discriminator.hidden_sizes=[32]", "model.eval_samples=300", "eval.kid_subset_size=100",
]  # fmt: skip
# The classifier, when a run has to build it: 1,000 train images, one epoch (a few seconds; ~60 % test accuracy, so
# the bar is lowered explicitly; it gets a file of its own, never the shared one).
QUICK_CLASSIFIER = ["eval.feature_build.max_samples=1000", "eval.feature_build.epochs=1",
                    "+eval.feature_build.min_accuracy=0.5"]
QUICK_FILE = "mnist-classifier-epochs1-max_samples1000-min_accuracy0.5.pt"
BUILDING = "training it now"  # the line a build prints


@pytest.fixture(scope="module")
def classifier_path(tmp_path_factory):
    """`python -m gan.features data=mnist max_samples=3000 epochs=2`, in process; built once for this module."""
    path = tmp_path_factory.mktemp("features") / "mnist-classifier.pt"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            config_name="features",
            overrides=[f"paths.data_dir={SHARED_DATA}", f"output={path}", "max_samples=3000", "epochs=2"],
        )
    GlobalHydra.instance().clear()
    start, cpu_start = time.perf_counter(), time.process_time()
    info = build(cfg)
    # CPU seconds (both threads) as well as wall: other jobs on a shared 2-core machine stretch the wall time.
    info["wall_s"], info["cpu_s"] = time.perf_counter() - start, time.process_time() - cpu_start
    return path, info


@pytest.mark.slow
def test_features_on_a_subset_is_quick_and_beats_chance(classifier_path):
    path, info = classifier_path
    assert info["cpu_s"] < 30, info
    assert info["test_accuracy"] > 0.8, info  # on the 10,000 held-out test images; chance is 0.1
    classifier, saved = load_classifier(path)
    assert saved["test_accuracy"] == info["test_accuracy"] and classifier.num_features == 128


PAIRED = ("fid", "kid", "precision", "recall", "density", "coverage")


@pytest.mark.slow
def test_runs_build_the_classifier_once_and_evaluate_builds_it_in_a_fresh_cache(make_cfg, tmp_path, capsys):
    """The first run trains the missing classifier, logs val/... and writes every figure beside its floor; a second
    run reuses classifier and reference features; gan.evaluate with an empty cache builds it there and reports."""
    cache = tmp_path / "cache"  # conftest: every run under tmp_path shares <tmp_path>/cache
    overrides = [*TINY_VANILLA, *QUICK_CLASSIFIER, "model.monitor=val/fid", "trainer.max_steps=3", "data.eval_batch_size=300"]
    metrics = train(make_cfg(*overrides))
    assert capsys.readouterr().out.count(BUILDING) == 1
    classifier = cache / "features" / QUICK_FILE
    assert not (cache / "features" / "mnist-classifier.pt").exists()  # the shared file is for the default settings
    built = classifier.stat().st_mtime_ns
    assert load_classifier(classifier)[1]["train_samples"] == 1000
    run = tmp_path / "run"
    saved = json.loads((run / "metrics.json").read_text())
    for key in PAIRED:
        assert np.isfinite(saved[key]) and np.isfinite(saved[f"{key}_floor"]) and np.isfinite(saved[f"val/{key}"]), key
    for key in ("precision", "recall", "density", "coverage"):
        assert 0 <= saved[key] <= 1 + 4 * (key == "density"), key  # density counts balls: it may pass 1
    assert saved["fid_floor"] < saved["fid"] and saved["precision_floor"] > saved["precision"]  # 3 steps from noise
    assert saved["class_entropy_uniform"] == pytest.approx(math.log(10)) and metrics["eval_samples"] == 300
    assert list((run / "checkpoints").glob("best-*.ckpt")), "val/fid should select a best checkpoint"
    assert sorted(p.name.split("-")[1] for p in (cache / "reference").glob("*.pt")) == ["floor", "reference"]

    again = train(make_cfg(*overrides, output_dir=tmp_path / "run2"))
    assert BUILDING not in capsys.readouterr().out and classifier.stat().st_mtime_ns == built
    assert again["fid_floor"] == pytest.approx(saved["fid_floor"])  # the same reference, read back from the cache

    fresh = tmp_path / "fresh-cache"
    evaluate_main([str(run), "--samples", "200", "--cache-dir", str(fresh)])
    out = capsys.readouterr().out
    assert BUILDING in out and (fresh / "features" / QUICK_FILE).is_file()
    assert "real-vs-real" in out and "precision" in out and "coverage" in out
    figures = json.loads((run / "evaluation.json").read_text())["figures"]
    assert figures["eval_samples"] == 200 and figures["fid"] > figures["fid_floor"] > 0
    assert all(np.isfinite(figures[f"{key}_floor"]) for key in PAIRED)
    assert 0 <= figures["class_entropy"] <= math.log(10) + 1e-9


BUILD_SCRIPT = """
import sys
from gan.features import ensure_classifier
data = {"_target_": "gan.data.mnist.MNISTDataModule", "data_dir": sys.argv[2], "dataset": "mnist"}
ensure_classifier(sys.argv[1], data, max_samples=500, epochs=1, min_accuracy=0)
"""


@pytest.mark.slow
def test_concurrent_builds_leave_one_valid_file(tmp_path):
    """Two processes asking for the same missing classifier at once: one trains it, the other waits and uses it."""
    path = tmp_path / "cache" / "features" / "mnist-classifier.pt"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", BUILD_SCRIPT, str(path), str(SHARED_DATA)]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]  # fmt: skip
    outputs = [process.communicate(timeout=300) for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    assert sum(out.count(BUILDING) for out, _ in outputs) == 1
    classifier, info = load_classifier(path)
    assert info["train_samples"] == 500 and classifier.num_features == 128
    assert [p.name for p in path.parent.iterdir() if p.name != f"{path.name}.lock"] == [path.name]  # no temp files


def _unmeasured(caplog) -> str:
    """The run's warnings that something is not measured (one log line each, from gan.callbacks.evaluation)."""
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    return "\n".join(line for line in lines if "NOT measured" in line)


def test_fast_dev_run_builds_no_classifier_and_says_so(make_cfg, tmp_path, caplog):
    metrics = train(make_cfg(*TINY_VANILLA, "trainer.fast_dev_run=true"))
    assert "fast_dev_run" in _unmeasured(caplog)
    assert "fid" not in metrics and not (tmp_path / "cache" / "features").exists()


def test_without_classifier_the_run_says_so_and_keeps_last(make_cfg, tmp_path, caplog):
    cfg = make_cfg(*TINY_VANILLA, "eval.feature_extractor=null", "model.monitor=val/fid", "trainer.max_steps=2")
    metrics = train(cfg)
    assert "eval.feature_extractor=null" in _unmeasured(caplog)
    assert "fid" not in metrics and "val/fid" not in metrics
    run = tmp_path / "run"
    assert (run / "checkpoints" / "last.ckpt").is_file() and not list((run / "checkpoints").glob("best-*"))
    evaluate_main([str(run)])
    report = json.loads((run / "evaluation.json").read_text())
    assert report["figures"] == {} and "eval.feature_extractor=null" in report["not_measured"][0]


@pytest.mark.slow
def test_evaluation_moves_neither_the_training_rng_nor_its_data(make_cfg, tmp_path):
    """Two epochs with sample quality measured after each end in the very state of the same run without it."""
    common = [*TINY_VANILLA, "++trainer.limit_train_batches=3", "trainer.max_epochs=2", "data.batch_size=16"]
    measured = train(make_cfg(*common, *QUICK_CLASSIFIER, output_dir=tmp_path / "measured"))
    assert "val/fid" in measured
    train(make_cfg(*common, "eval.feature_extractor=null", output_dir=tmp_path / "plain"))
    assert_same_state(load(tmp_path / "measured/checkpoints/last.ckpt"), load(tmp_path / "plain/checkpoints/last.ckpt"))
    datamodule_state = [load(tmp_path / f"{run}/checkpoints/last.ckpt")["MNISTDataModule"] for run in ("measured", "plain")]
    assert torch.equal(datamodule_state[0]["train_loader"]["generator"], datamodule_state[1]["train_loader"]["generator"])


def test_evaluate_a_gaussian_checkpoint_gives_the_runs_own_figures(make_cfg, tmp_path):
    metrics = train(make_cfg("logger=none", "trainer.max_epochs=1", "data.steps_per_epoch=5"))
    from gan.checkpoint import load_model

    model, _ = load_model(tmp_path / "run")
    assert {k: metrics[k] for k in ("w1", "ks", "mean_error")} == {k: model.evaluate()[k] for k in ("w1", "ks", "mean_error")}
    out = tmp_path / "eval.json"
    evaluate_main([str(tmp_path / "run"), "--samples", "2000", "--output", str(out)])
    figures = json.loads(out.read_text())["figures"]
    expected = gaussian_report(model.draw(2000, seed=0), model.hparams.target_mean, model.hparams.target_std)
    assert figures == pytest.approx(expected)
