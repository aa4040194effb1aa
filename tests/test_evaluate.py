"""Evaluation as its own component: feature metrics, the evaluator, the classifier built on first need, gan.evaluate."""

import json
import logging
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import pytorch_lightning as pl
import scipy.linalg
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from torch.utils.data import DataLoader, TensorDataset

from gan.errors import ConfigError, DataError
from gan.evaluate import main as evaluate_main
from gan.evaluation import ImageEvaluator
from gan.features import Classifier, build, load_classifier, save_classifier
from gan.metrics.gaussian import gaussian_report
from gan.metrics.image import ClassifierFeatures, InceptionFID, class_entropy, class_spread, frechet_distance, kernel_distance
from gan.metrics.prdc import prdc
from gan.run import train
from tests.conftest import CONF, REPO, SHARED_DATA
from tests.test_resume import assert_same_state, load

TINY_VANILLA = [
    "model=vanilla", "data=mnist", "logger=none", "model.generator.hidden_sizes=[32]",
    "model.discriminator.hidden_sizes=[32]", "model.eval_samples=300", "model.kid_subset_size=100",
]  # fmt: skip
# The classifier, when a run has to build it: 1,000 train images, one epoch (a few seconds; ~60 % test accuracy, so
# the bar is lowered explicitly; it gets a file of its own, never the shared one).
QUICK_CLASSIFIER = ["model.feature_build.max_samples=1000", "model.feature_build.epochs=1",
                    "+model.feature_build.min_accuracy=0.5"]
QUICK_FILE = "mnist-classifier-epochs1-max_samples1000-min_accuracy0.5.pt"
BUILDING = "training it now"  # the line a build prints


# ---- the figures, on hand-made features ------------------------------------------------------------
def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """FID as its definition writes it, with scipy's matrix square root."""
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * scipy.linalg.sqrtm(ca @ cb).real))


def test_fid_matches_scipy_on_random_features():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(3000, 16, generator=g)
    fake = torch.randn(3000, 16, generator=g) @ torch.randn(16, 16, generator=g) * 0.5 + 0.2  # other covariance
    expected = scipy_fid(real.double().numpy(), fake.double().numpy())
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-6)


def test_fid_kid_identical_near_zero_shifted_larger():
    g = torch.Generator().manual_seed(0)
    real, same_law = torch.randn(3000, 16, generator=g), torch.randn(3000, 16, generator=g)
    assert frechet_distance(real, real) == pytest.approx(0.0, abs=1e-6)
    near, far = frechet_distance(real, same_law), frechet_distance(real, same_law + 0.5)
    assert near < 0.15 and far == pytest.approx(16 * 0.5**2, rel=0.1)  # |mean shift|^2, covariances equal
    kid_near, kid_far = kernel_distance(real, same_law, 10, 500)[0], kernel_distance(real, same_law + 0.5, 10, 500)[0]
    assert abs(kid_near) < 0.01 and kid_far > 10 * max(kid_near, 1e-3)


def test_kid_is_the_unbiased_mmd_of_the_cubic_kernel():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(40, 3, generator=g), torch.randn(40, 3, generator=g) + 1
    k = lambda a, b: (a @ b.T / 3 + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x.double(), x.double()), k(y.double(), y.double()), k(x.double(), y.double())
    off = lambda m: (m.sum() - m.trace()) / (40 * 39)  # noqa: E731
    expected = off(kxx) + off(kyy) - 2 * kxy.mean()
    mean, std = kernel_distance(x, y, subsets=3, subset_size=40)  # a subset of all 40 is the whole set
    assert mean == pytest.approx(expected.item(), rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_class_entropy_and_mode_coverage():
    assert class_entropy(torch.tensor([5, 5, 5, 5])) == pytest.approx(math.log(4))
    assert class_entropy(torch.tensor([0, 9, 0])) == 0.0
    assert class_spread(torch.zeros(50, dtype=torch.long), 3) == {"class_entropy": 0.0, "mode_coverage": 1}
    spread = class_spread(torch.tensor([0] * 10 + [1] * 10 + [2] * 2), 3)  # class 2 below half its share
    assert spread["mode_coverage"] == 2


# ---- precision, recall, density, coverage -----------------------------------------------------------
def reference_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict:
    """The authors' definitions (clovaai/generative-evaluation-prdc), in numpy and scipy."""
    from scipy.spatial.distance import cdist

    radius = lambda x: np.sort(cdist(x, x), axis=1)[:, k]  # noqa: E731  (column 0 is the point itself)
    real_r, fake_r, d = radius(real), radius(fake), cdist(real, fake)
    return {
        "precision": (d < real_r[:, None]).any(0).mean(),
        "recall": (d < fake_r[None, :]).any(1).mean(),
        "density": (d < real_r[:, None]).sum(0).mean() / k,
        "coverage": (d.min(1) < real_r).mean(),
    }


def test_prdc_by_hand_on_a_line():
    """Reals 0, 1, 2, 3 (1-NN radius 1 each); fakes 0.5 and 10 (1-NN radius 9.5 each), k=1:
    0.5 lies in the balls of 0 and 1, 10 in none -> precision 1/2, density (2 + 0) / 2 = 1;
    every real is within 9.5 of 0.5 -> recall 1; only 0 and 1 have a fake within 1 -> coverage 1/2."""
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[0.5], [10.0]])
    assert prdc(real, fake, k=1) == pytest.approx({"precision": 0.5, "recall": 1.0, "density": 1.0, "coverage": 0.5})


def test_prdc_identical_sets_give_one_disjoint_far_sets_give_zero():
    g = torch.Generator().manual_seed(3)
    real = torch.randn(200, 8, generator=g)
    assert prdc(real, real.clone(), k=5) == pytest.approx({"precision": 1, "recall": 1, "density": 1, "coverage": 1})
    assert prdc(real, real + 100, k=5) == {"precision": 0, "recall": 0, "density": 0, "coverage": 0}


def test_prdc_matches_the_reference_definitions_across_chunks(monkeypatch):
    monkeypatch.setattr("gan.metrics.prdc.CHUNK", 7)  # several blocks of rows, as with 10,000 samples
    g = torch.Generator().manual_seed(4)
    real, fake = torch.randn(60, 4, generator=g), torch.randn(45, 4, generator=g) * 1.5 + 0.3
    expected = reference_prdc(real.double().numpy(), fake.double().numpy(), k=5)
    assert prdc(real, fake, k=5) == pytest.approx(expected)


# ---- the evaluator, on a hand-made data set and a fake generator --------------------------------------
class NumberedImages(pl.LightningDataModule):
    """60 train images (ids 0-59) in batches of 8, (image, id); no held-out split."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.images = torch.rand(100, 1, 28, 28, generator=g) * 2 - 1
        self.ids = torch.arange(100)

    def train_dataloader(self):
        return DataLoader(TensorDataset(self.images[:60], self.ids[:60]), batch_size=8)


class NumberedImagesHeldOut(NumberedImages):
    """... and 40 held-out images (ids 60-99)."""

    def val_dataloader(self):
        return DataLoader(TensorDataset(self.images[60:], self.ids[60:]), batch_size=8)


class NoiseGenerator:
    """What an evaluator needs of a model: noise, images from noise, real images from a batch (ids noted)."""

    device = torch.device("cpu")

    def __init__(self) -> None:
        self.seen: list[torch.Tensor] = []

    def sample_noise(self, n: int, device=None) -> torch.Tensor:
        return torch.rand(n, 1, 28, 28) * 2 - 1

    def generate(self, noise: torch.Tensor) -> torch.Tensor:
        return noise * 0.5

    def real_from_batch(self, batch):
        self.seen.append(batch[1])
        return batch[0]


@pytest.fixture
def random_classifier(tmp_path):
    """An untrained classifier saved as the project saves one: its features are as good as any for the wiring."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        classifier = Classifier(1, 10, width=4, num_features=8)
        classifier.body[-2].bias.data.fill_(1.0)  # no feature stuck at ReLU's 0: full-rank covariances for scipy
    # Untrained (chance accuracy): its bar is lowered on record, as only an explicit min_accuracy= can.
    path = save_classifier(classifier, tmp_path / "classifier.pt", image_shape=[1, 28, 28], test_accuracy=0.1,
                           min_accuracy=0.0)
    return path, classifier.eval()


@pytest.mark.parametrize("held_out", [True, False])
def test_evaluator_fid_matches_scipy_and_the_floor_uses_other_images(random_classifier, held_out):
    path, classifier = random_classifier
    data = {"_target_": f"tests.test_evaluate.{'NumberedImagesHeldOut' if held_out else 'NumberedImages'}"}
    evaluator = ImageEvaluator(data, str(path), samples=30, kid_subset_size=10, nearest_k=3, build=False)
    model = NoiseGenerator()
    state = torch.get_rng_state()
    figures = evaluator.evaluate(model)
    assert torch.equal(torch.get_rng_state(), state)  # the training RNG never moves

    reference_ids = torch.cat(model.seen[:4])[:30]  # the first reals read: 30 images, from 4 batches of 8
    assert reference_ids.tolist() == list(range(60, 90) if held_out else range(30))

    images = NumberedImagesHeldOut().images
    with torch.no_grad():
        real = classifier.features(images[60:90] if held_out else images[:30]).double().numpy()
        torch.manual_seed(0)  # the evaluation seed
        fake = classifier.features(NoiseGenerator().generate(NoiseGenerator().sample_noise(30))).double().numpy()
        other = classifier.features(images[:30] if held_out else images[30:60]).double().numpy()
    assert figures["fid"] == pytest.approx(scipy_fid(real, fake), rel=1e-5)
    # The floor scores 30 other reals: the train split, or the train stream's next 30 without a held-out split.
    assert figures["fid_floor"] == pytest.approx(scipy_fid(real, other), rel=1e-5)
    assert figures["precision"] == pytest.approx(reference_prdc(real, fake, 3)["precision"])
    assert figures["coverage_floor"] == pytest.approx(reference_prdc(real, other, 3)["coverage"])
    assert figures["eval_samples"] == 30 and figures["class_entropy_uniform"] == pytest.approx(math.log(10))
    assert evaluator.evaluate(model) == figures  # the same figures again: fixed seed, cached reference


def test_feature_network_stays_frozen_and_checks_shapes():
    features = ClassifierFeatures(Classifier(1, 3, width=2, num_features=16), image_shape=(1, 28, 28))
    features.train()
    assert not features.training and features.num_features == 16
    assert features(torch.zeros(2, 1, 28, 28)).shape == (2, 16)
    with pytest.raises(ConfigError, match="trained on"):
        features(torch.zeros(2, 3, 28, 28))


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
            overrides=[f"paths.data_dir={SHARED_DATA}", f"output={path}", "max_samples=3000", "epochs=2",
                       "min_accuracy=0.8"],
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
    cfg = make_cfg(*TINY_VANILLA, "model.feature_extractor=null", "model.monitor=val/fid", "trainer.max_steps=2")
    metrics = train(cfg)
    assert "model.feature_extractor=null" in _unmeasured(caplog)
    assert "fid" not in metrics and "val/fid" not in metrics
    run = tmp_path / "run"
    assert (run / "checkpoints" / "last.ckpt").is_file() and not list((run / "checkpoints").glob("best-*"))
    evaluate_main([str(run)])
    report = json.loads((run / "evaluation.json").read_text())
    assert report["figures"] == {} and "model.feature_extractor=null" in report["not_measured"][0]


@pytest.mark.slow
def test_evaluation_moves_neither_the_training_rng_nor_its_data(make_cfg, tmp_path):
    """Two epochs with sample quality measured after each end in the very state of the same run without it."""
    common = [*TINY_VANILLA, "++trainer.limit_train_batches=3", "trainer.max_epochs=2", "data.batch_size=16"]
    measured = train(make_cfg(*common, *QUICK_CLASSIFIER, output_dir=tmp_path / "measured"))
    assert "val/fid" in measured
    train(make_cfg(*common, "model.feature_extractor=null", output_dir=tmp_path / "plain"))
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
