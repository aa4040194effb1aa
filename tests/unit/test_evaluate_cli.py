"""The feature classifier's cache without a build: the file each setting gets, a weak classifier scores nothing, an
unwritable cache is one line."""

import pytest
import torch

from gan.errors import ConfigError, DataError
from gan.eval.evaluator import ImageEvaluator
from gan.features import Classifier, classifier_file, ensure_classifier, save_classifier
from tests.conftest import SHARED_DATA

MNIST = {"_target_": "gan.data.mnist.MNISTDataModule", "data_dir": str(SHARED_DATA), "dataset": "mnist"}


def saved_classifier(path, accuracy: float, **info):
    """An untrained classifier saved as gan.features saves one, with the accuracy on record that a test needs."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        classifier = Classifier(1, 10, width=4, num_features=8)
        classifier.body[-2].bias.data.fill_(1.0)  # no feature stuck at ReLU's 0
    return save_classifier(classifier, path, dataset="mnist", image_shape=[1, 28, 28], test_accuracy=accuracy, **info)


def test_other_settings_get_their_own_file():
    shared = SHARED_DATA / "features" / "mnist-classifier.pt"
    assert classifier_file(shared, {"max_samples": None, "epochs": 2, "min_accuracy": 0.8}) == shared  # the defaults
    assert classifier_file(shared, {"epochs": 1, "max_samples": 2000}).name == "mnist-classifier-epochs1-max_samples2000.pt"
    assert classifier_file(shared, {"min_accuracy": 0.5}).name == "mnist-classifier-min_accuracy0.5.pt"


def test_nothing_is_scored_with_a_weak_classifier(tmp_path):
    path = saved_classifier(tmp_path / "weak.pt", 0.125)  # gan.features data=mnist epochs=0, as it once saved
    evaluator = ImageEvaluator(MNIST, str(path), samples=200, build=False)
    with pytest.raises(ConfigError, match=r"0\.125 test accuracy, below the 0\.8 needed .*rebuild=true"):
        evaluator.describe()


def test_an_unwritable_cache_is_one_line(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    with pytest.raises(DataError, match=f"cannot write the feature classifier into {blocker}/sub/features .*GAN_CACHE_DIR"):
        ensure_classifier(blocker / "sub" / "features" / "mnist-classifier.pt", MNIST)
