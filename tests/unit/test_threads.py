"""`threads=auto` (the default): one CPU thread for the small networks, torch's default for image networks."""

import pytest
import torch

from gan.run import SMALL_NETWORK, set_threads


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


def test_the_size_rule_sorts_the_shipped_networks(make_cfg):
    import hydra

    def size(*overrides):
        model = hydra.utils.instantiate(make_cfg(*overrides).model)
        return sum(p.numel() for p in model.parameters())

    assert size() < SMALL_NETWORK and size("model=mixture", "data=ring") < SMALL_NETWORK
    assert size("model=vanilla", "data=mnist") > SMALL_NETWORK
    assert size("model=dcgan", "data=image_folder", "data.image_size=32") > SMALL_NETWORK
