"""Offline evaluation: FID/KID over a custom feature network, class entropy, gan.features and gan.evaluate."""

import json
import math
import time

import numpy as np
import pytest
import scipy.linalg
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from torch import nn

from gan.errors import ConfigError, DataError
from gan.evaluate import main as evaluate_main
from gan.features import build, load_classifier
from gan.metrics.image import ClassifierFeatures, ImageQuality, InceptionFID, class_entropy
from gan.run import train
from tests.conftest import CONF, SHARED_DATA

TINY_VANILLA = [
    "model=vanilla", "data=mnist", "logger=none", "model.generator.hidden_sizes=[32]",
    "model.discriminator.hidden_sizes=[32]", "model.eval_samples=300", "model.kid_subset_size=100",
]  # fmt: skip


class Identity16(nn.Module):
    """A hand-made 'classifier' on (B, 1, 4, 4): the 16 pixels are the features, 3 fixed classes."""

    num_features, num_classes = 16, 3

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(16, 3)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)


def _quality(real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    quality = ImageQuality(Identity16(), kid_subset_size=500, kid_subsets=10)
    quality.update(real, real=True)
    quality.update(fake, real=False)
    return quality.compute()


def test_fid_kid_identical_near_zero_shifted_larger():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(3000, 1, 4, 4, generator=g)
    same_law = torch.randn(3000, 1, 4, 4, generator=g)
    assert _quality(real, real)["fid"] == pytest.approx(0.0, abs=1e-6)
    near = _quality(real, same_law)
    far = _quality(real, same_law + 0.5)
    assert near["fid"] < 0.15 and abs(near["kid"]) < 0.01
    assert far["fid"] == pytest.approx(16 * 0.5**2, rel=0.1)  # |mean shift|^2, covariances equal
    assert far["kid"] > 10 * max(near["kid"], 1e-3)


def test_fid_matches_the_formula_with_scipy():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(3000, 1, 4, 4, generator=g)
    fake = torch.randn(3000, 1, 4, 4, generator=g) * 1.5 + 0.2
    a, b = real.flatten(1).double().numpy(), fake.flatten(1).double().numpy()
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * scipy.linalg.sqrtm(ca @ cb).real)
    assert _quality(real, fake)["fid"] == pytest.approx(expected, rel=1e-4)


def test_class_entropy_and_mode_coverage():
    assert class_entropy(torch.tensor([5, 5, 5, 5])) == pytest.approx(math.log(4))
    assert class_entropy(torch.tensor([0, 9, 0])) == 0.0
    quality = ImageQuality(Identity16(), kid_subset_size=10)
    with torch.no_grad():  # class 0 whatever the input: one mode of three
        quality.features.classifier.head.weight.zero_()
        quality.features.classifier.head.bias.copy_(torch.tensor([1.0, 0.0, 0.0]))
    quality.update(torch.randn(50, 1, 4, 4), real=True)
    quality.update(torch.randn(50, 1, 4, 4), real=False)
    figures = quality.compute()
    assert figures["class_entropy"] == 0.0 and figures["mode_coverage"] == 1


def test_feature_network_stays_frozen_and_checks_shapes():
    features = ClassifierFeatures(Identity16())
    features.train()
    assert not features.training and features.num_features == 16
    quality = ImageQuality(Identity16(), image_shape=(1, 4, 4))
    with pytest.raises(ConfigError, match="trained on"):
        quality.update(torch.zeros(2, 3, 4, 4), real=True)


def test_inception_fid_never_downloads(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        InceptionFID(tmp_path / "missing.pth")


def test_inception_fid_without_torch_fidelity_says_what_to_install(tmp_path):
    from gan.metrics import image

    if image._TORCH_FIDELITY_AVAILABLE:
        pytest.skip("torch-fidelity is installed")
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"")
    with pytest.raises(ConfigError, match="pip install torch-fidelity"):
        InceptionFID(weights)


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


def test_missing_classifier_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="python -m gan.features"):
        load_classifier(tmp_path / "nope.pt")


@pytest.mark.slow
def test_run_logs_val_fid_and_evaluate_writes_the_figures(make_cfg, tmp_path, classifier_path, capsys):
    cfg = make_cfg(
        *TINY_VANILLA, f"model.feature_extractor={classifier_path[0]}", "model.monitor=val/fid",
        "trainer.max_steps=3", "data.eval_batch_size=300",
    )  # fmt: skip
    metrics = train(cfg)
    run = tmp_path / "run"
    saved = json.loads((run / "metrics.json").read_text())
    for key in ("val/fid", "val/kid", "val/class_entropy", "fid", "fid_floor", "kid_floor", "class_entropy_real"):
        assert np.isfinite(saved[key]), key
    assert saved["fid_floor"] < saved["fid"]  # three steps of training are far from real digits
    assert saved["class_entropy_uniform"] == pytest.approx(math.log(10))
    assert list((run / "checkpoints").glob("best-*.ckpt")), "val/fid should select a best checkpoint"
    assert metrics["eval_samples"] == 300

    evaluate_main([str(run), "--samples", "200"])
    report = json.loads((run / "evaluation.json").read_text())
    figures = report["figures"]
    assert figures["eval_samples"] == 200 and figures["fid"] > figures["fid_floor"] > 0
    assert 0 <= figures["class_entropy"] <= math.log(10) + 1e-9
    assert "real-vs-real floor" in capsys.readouterr().out


def test_without_classifier_the_run_says_so_and_keeps_last(make_cfg, tmp_path, capsys):
    cfg = make_cfg(
        *TINY_VANILLA, f"model.feature_extractor={tmp_path / 'absent.pt'}", "model.monitor=val/fid",
        "trainer.max_steps=2",
    )  # fmt: skip
    with pytest.warns(UserWarning, match="NOT measured"):
        metrics = train(cfg)
    assert "fid" not in metrics and "val/fid" not in metrics
    run = tmp_path / "run"
    assert (run / "checkpoints" / "last.ckpt").is_file() and not list((run / "checkpoints").glob("best-*"))
    evaluate_main([str(run)])
    report = json.loads((run / "evaluation.json").read_text())
    assert report["figures"] == {} and "no feature classifier" in report["not_measured"][0]


def test_evaluate_a_gaussian_checkpoint(make_cfg, tmp_path):
    train(make_cfg("logger=none", "trainer.max_epochs=1", "data.steps_per_epoch=5"))
    out = tmp_path / "eval.json"
    evaluate_main([str(tmp_path / "run"), "--samples", "2000", "--output", str(out)])
    figures = json.loads(out.read_text())["figures"]
    assert np.isfinite(figures["w1"]) and np.isfinite(figures["ks"])
