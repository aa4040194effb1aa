"""The feature classifier's cache (a usable one or none: `gan.features`) and what `gan.evaluate` refuses or warns about."""

import json
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from gan.errors import ConfigError
from gan.eval.evaluator import ImageEvaluator
from gan.evaluate import main as evaluate_main
from gan.features import build_here
from gan.run import train
from tests.conftest import CONF, SHARED_DATA, one_line_error
from tests.e2e.test_evaluate import TINY_VANILLA
from tests.unit.test_evaluate_cli import saved_classifier


def features_config(*overrides: str):
    """The config `python -m gan.features <overrides>` builds (its cache: the test's GAN_CACHE_DIR)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="features", overrides=[f"paths.data_dir={SHARED_DATA}", *overrides])
    GlobalHydra.instance().clear()
    return cfg


@pytest.mark.parametrize(("override", "message"), [
    ("epochs=0", "^epochs=0: a feature classifier needs epochs >= 1"),
    ("batch_size=0", "^batch_size=0:"),
    ("lr=0", "^lr=0"),
    ("min_accuracy=2", "^min_accuracy=2"),
])
def test_settings_that_cannot_make_a_classifier_are_refused(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        build_here(features_config(override))
    assert not (tmp_path / "cache").exists()


def test_features_on_non_image_data_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gan.features", "data=gaussian"], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: data=gan.data.gaussian.GaussianDataModule: feature networks are for image data")


def test_a_weak_classifier_is_not_saved(tmp_path):
    """200 images, one epoch: well below 0.8 test accuracy; nothing is written, anywhere."""
    with pytest.raises(ConfigError, match=r"test accuracy 0\.\d+ .*below min_accuracy=0.8 .*nothing was saved"):
        build_here(features_config("max_samples=200", "epochs=1"))
    assert not list((tmp_path / "cache").rglob("*.pt"))


def test_plain_features_finds_a_usable_classifier_and_trains_nothing(tmp_path, capsys):
    path = saved_classifier(tmp_path / "cache" / "features" / "mnist-classifier.pt", 0.98, min_accuracy=0.9)
    built = path.stat().st_mtime_ns
    build_here(features_config())
    assert "already at" in capsys.readouterr().out and path.stat().st_mtime_ns == built
    quick = saved_classifier(tmp_path / "cache" / "features" / "mnist-classifier-epochs1-max_samples300-min_accuracy0.pt",
                             0.5, min_accuracy=0.0)
    build_here(features_config("max_samples=300", "epochs=1", "min_accuracy=0", "rebuild=true"))
    assert "training it again (rebuild=true)" in capsys.readouterr().out and quick.stat().st_mtime_ns != built
    assert path.stat().st_mtime_ns == built  # the shared file untouched


# ---- gan.evaluate --------------------------------------------------------------------------------------------
def refused(argv: list[str]) -> str:
    return one_line_error(evaluate_main, argv)


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A one-step vanilla MNIST run measured by nothing, and a classifier file to score it with (module-wide)."""
    from tests.conftest import compose_config

    tmp = tmp_path_factory.mktemp("image_run")
    train(compose_config([*TINY_VANILLA, "eval.feature_extractor=null", "trainer.max_steps=1"], tmp / "run"))
    GlobalHydra.instance().clear()
    return tmp / "run", saved_classifier(tmp / "classifier.pt", 0.1, min_accuracy=0.0)


def test_evaluate_refuses_non_positive_samples_and_unwritable_output(image_run, tmp_path):
    run, _ = image_run
    assert "--samples -5" in refused([str(run), "--samples", "-5"])
    assert "--samples 0" in refused([str(run), "--samples", "0"])
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    assert "give --output a file in a folder you can write to" in refused([str(run), "--output", str(blocker / "e.json")])
    assert "that is a folder" in refused([str(run), "--output", str(tmp_path)])
    assert not (run / "evaluation.json").exists()


def test_evaluate_names_its_own_data_option_and_says_when_it_reads_none(image_run, tmp_path, capsys):
    run, classifier = image_run
    common = [str(run), "--feature-extractor", str(classifier), "--cache-dir", str(tmp_path / "cache"), "--samples", "200"]
    message = refused([*common, "--data-dir", str(tmp_path / "nothing-here")])
    assert "--data-dir <folder>" in message and "paths.data_dir" not in message and "data.download" not in message
    evaluate_main([*common, "--data-dir", str(SHARED_DATA), "--output", str(tmp_path / "first.json")])
    capsys.readouterr()
    evaluate_main([*common, "--data-dir", str(tmp_path / "nothing-here"), "--output", str(tmp_path / "second.json")])
    assert f"--data-dir {tmp_path / 'nothing-here'} is not read" in capsys.readouterr().err
    first, second = (json.loads((tmp_path / f"{n}.json").read_text())["figures"] for n in ("first", "second"))
    assert second == pytest.approx(first)


def test_evaluate_warns_below_the_samples_its_figures_need(make_cfg, tmp_path, capsys):
    train(make_cfg("logger=none", "trainer.max_epochs=1", "data.steps_per_epoch=2"))
    evaluate_main([str(tmp_path / "run"), "--samples", "10", "--output", str(tmp_path / "e.json")])
    assert "warning: --samples 10 is below the 100 these figures need" in capsys.readouterr().err
    assert json.loads((tmp_path / "e.json").read_text())["warnings"]
    assert ImageEvaluator.min_samples == 200
