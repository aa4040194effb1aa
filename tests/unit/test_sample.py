"""What gan.sample works out without a run: spherical interpolation, and the --code check on networks trained
without codes."""

import pytest
import torch

from gan.errors import ConfigError
from gan.sampling import interpolate


def test_spherical_interpolation_keeps_the_ends():
    a, b = torch.randn(16), torch.randn(16)
    path = interpolate(a, b, 5, spherical=True)
    assert path.shape == (5, 16)
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)


def test_code_on_infogan_networks_trained_without_codes_says_so(make_cfg):
    import hydra

    from gan.sampling import check_request

    model = hydra.utils.instantiate(make_cfg("experiment=mnist_best").model, _convert_="all")
    with pytest.raises(ConfigError, match="^--code: this run was trained without codes .*experiment=mnist_best"):
        check_request(model, None, None, 4, None, None)
