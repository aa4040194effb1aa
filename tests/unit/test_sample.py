"""What gan.sample works out without a run: spherical interpolation, the --code check on networks trained
without codes, and each variant's own sample writer."""

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


def test_a_variant_writes_its_own_samples_and_one_without_a_writer_is_refused_first():
    """gan.sample asks the model (`check_sample_request`, `write_samples`); a variant that writes none is refused
    before a folder is made, and one that writes its own kind needs no edit of gan/sampling.py."""
    from gan.models.gan import GAN
    from gan.networks.mlp import MLPDiscriminator, MLPGenerator

    class Silent(GAN):
        sample_kind = "sounds"

    class Writes(Silent):
        def write_samples(self, out, n, seed, **request):
            return [f"{n} {self.sample_kind} from seed {seed}"]

    nets = (MLPGenerator(4, 1, 8, [8]), MLPDiscriminator(1, 8, [8]), torch.optim.Adam, torch.optim.Adam)
    with pytest.raises(ConfigError, match="^Silent has no sample writer .*'sounds'"):
        Silent(*nets, g_lr=1e-3, d_lr=1e-3, latent_shape=[4], num_fixed=4).check_sample_request(None)
    model = Writes(*nets, g_lr=1e-3, d_lr=1e-3, latent_shape=[4], num_fixed=4)
    model.check_sample_request(5)
    assert model.write_samples("out", 5, 3) == ["5 sounds from seed 3"]
    with pytest.raises(ConfigError, match="^--interpolate: this model draws sounds, not images"):
        model.check_sample_request(5, steps=4)
