"""`threads=auto` (the default): one CPU thread for the small networks, torch's default for image networks."""

import pytest
import torch

import gan.run
from gan.run import SMALL_NETWORK, set_threads, train


class _Net(torch.nn.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(size))


@pytest.fixture
def threads_kept():
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)


@pytest.mark.parametrize("threads, size, expected", [
    ("auto", SMALL_NETWORK - 1, 1),        # the Gaussian GAN, the 2-D mixtures
    ("auto", SMALL_NETWORK, "default"),    # image networks: torch's default, one per core
    (None, 10, "default"),
    (3, 10, 3),
])
def test_set_threads_picks_by_network_size(threads_kept, threads, size, expected):
    torch.set_num_threads(2)
    assert set_threads(threads, _Net(size)) == 2  # what to set back afterwards
    assert torch.get_num_threads() == (2 if expected == "default" else expected)


def test_the_default_run_trains_on_one_thread_and_sets_the_count_back(make_cfg, threads_kept, monkeypatch):
    seen = []
    fit = gan.run._fit
    monkeypatch.setattr(gan.run, "_fit", lambda *a: seen.append(torch.get_num_threads()) or fit(*a))
    torch.set_num_threads(2)
    train(make_cfg("trainer.max_steps=2", "logger=none", "model.eval_samples=100"))
    assert seen == [1]
    assert torch.get_num_threads() == 2  # a sweep's next job, or the next test, gets the count it had


def test_the_size_rule_sorts_the_shipped_networks(make_cfg):
    import hydra

    def size(*overrides):
        model = hydra.utils.instantiate(make_cfg(*overrides).model)
        return sum(p.numel() for p in model.parameters())

    assert size() < SMALL_NETWORK and size("model=mixture", "data=ring") < SMALL_NETWORK
    assert size("model=vanilla", "data=mnist") > SMALL_NETWORK
    assert size("model=dcgan", "data=image_folder", "data.image_size=32") > SMALL_NETWORK
