"""Evaluation as its own component: feature metrics on hand-made features, the evaluator on a hand-made data set
and a fake generator, the feature network's checks."""

import math

import numpy as np
import pytest
import pytorch_lightning as pl
import scipy.linalg
import torch
from torch.utils.data import DataLoader, TensorDataset

from gan.errors import ConfigError, DataError
from gan.eval.evaluator import ImageEvaluator
from gan.eval.image import (
    ClassifierFeatures,
    InceptionFID,
    class_entropy,
    class_spread,
    frechet_distance,
    kernel_distance,
)
from gan.eval.prdc import prdc
from gan.features import Classifier, load_classifier, save_classifier


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
    monkeypatch.setattr("gan.eval.prdc.CHUNK", 7)  # several blocks of rows, as with 10,000 samples
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
    data = {"_target_": f"tests.unit.test_evaluate.{'NumberedImagesHeldOut' if held_out else 'NumberedImages'}"}
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
    from gan.eval import image

    if image._TORCH_FIDELITY_AVAILABLE:
        pytest.skip("torch-fidelity is installed")
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"")
    with pytest.raises(ConfigError, match="pip install torch-fidelity"):
        InceptionFID(weights)


def test_missing_classifier_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="python -m gan.features"):
        load_classifier(tmp_path / "nope.pt")
