"""The 2-D mixtures (ring, grid): sampling, PacGAN's metrics on hand-made points, packing, rejection sampling."""

import math

import hydra
import pytest
import torch

from gan.data.mixture import MixtureDataModule, mixture_centres, sample_mixture
from gan.errors import ConfigError
from gan.eval.mixture import HIGH_QUALITY_CEILING, mixture_report
from gan.networks.packing import pack_samples
from gan.networks.points import PointDiscriminator


def test_ring_and_grid_centres_are_pacgans():
    ring = mixture_centres("ring", 8, 1.0)
    assert ring.shape == (8, 2) and torch.allclose(ring.norm(dim=1), torch.ones(8, dtype=torch.float64))
    assert torch.allclose(ring[2], torch.tensor([0.0, 1.0], dtype=torch.float64), atol=1e-12)
    grid = mixture_centres("grid", 25, 4.0)
    assert sorted(set(grid[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0] and len(set(map(tuple, grid.tolist()))) == 25
    with pytest.raises(ConfigError, match="square"):
        mixture_centres("grid", 24, 4.0)


@pytest.mark.parametrize("layout, size, radius, sigma", [("ring", 8, 1.0, 0.01), ("grid", 25, 4.0, 0.05)])
def test_mixture_sampling_has_the_configured_means_and_sigma(layout, size, radius, sigma):
    centres = mixture_centres(layout, size, radius)
    points = sample_mixture(centres, sigma, 200_000, torch.Generator().manual_seed(0)).double()
    nearest = torch.cdist(points, centres).argmin(dim=1)
    for k in range(size):
        mine = points[nearest == k]
        assert len(mine) == pytest.approx(200_000 / size, rel=0.1)  # equal weights
        assert torch.allclose(mine.mean(0), centres[k], atol=5 * sigma / math.sqrt(len(mine)))
        assert mine.std(0).tolist() == pytest.approx([sigma, sigma], rel=0.03)


def test_metrics_of_one_mode_and_of_an_exact_sample():
    centres = mixture_centres("ring", 8, 1.0)
    collapsed = centres[3].expand(2500, 2) + 0.001 * torch.randn(2500, 2, dtype=torch.float64)
    report = mixture_report(collapsed, centres, 0.01)
    assert report["modes"] == 1 and report["high_quality"] == 1.0
    assert report["reverse_kl"] == pytest.approx(math.log(8))
    exact = sample_mixture(centres, 0.01, 100_000, torch.Generator().manual_seed(1))
    report = mixture_report(exact, centres, 0.01)
    assert report["modes"] == 8 and report["reverse_kl"] < 1e-3
    assert report["high_quality"] == pytest.approx(HIGH_QUALITY_CEILING, abs=2e-3)
    assert HIGH_QUALITY_CEILING == pytest.approx(0.98889, abs=1e-5)
    far = mixture_report(torch.full((10, 2), 10.0), centres, 0.01)  # nothing near any mode
    assert far["modes"] == 0 and far["high_quality"] == 0.0


def test_metrics_count_a_point_only_within_three_sigma():
    centres = mixture_centres("grid", 25, 4.0)
    points = torch.tensor([[0.0, 0.149], [0.0, 0.151], [2.0, 2.0]])  # 2.98 sigma, 3.02 sigma, on a centre
    report = mixture_report(points, centres, 0.05)
    assert report["modes"] == 2 and report["high_quality"] == pytest.approx(2 / 3)
    assert report["reverse_kl"] == pytest.approx(math.log(25 / 2))  # two modes, half each


def test_packing_joins_consecutive_samples():
    points = torch.arange(12.0).view(6, 2)
    assert pack_samples(points, 3).tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    images = torch.arange(4 * 3 * 2 * 2.0).view(4, 3, 2, 2)
    packed = pack_samples(images, 2)
    assert packed.shape == (2, 6, 2, 2) and torch.equal(packed[1, 3:], images[3])
    assert pack_samples(points, 1) is points
    with pytest.raises(ConfigError, match="multiple of the pack"):
        pack_samples(points, 4)
    d = PointDiscriminator(dim=2, hidden_sizes=[8], pack=2)
    assert d.net[0].in_features == 4 and d(torch.randn(10, 2)).shape == (5,)


def test_datamodule_batches_feed_each_d_update():
    data = MixtureDataModule("grid", 25, 4.0, 0.05, batch_size=10, slices=3, steps_per_epoch=2)
    batch = next(iter(data.train_dataloader()))
    assert batch.shape == (30, 2)


def test_packing_composes_with_the_image_discriminators():
    from gan.networks.dcgan import DCGANDiscriminator
    from gan.networks.mlp import MLPDiscriminator

    mlp = MLPDiscriminator(channels=1, image_size=28, hidden_sizes=[16], pack=2)
    assert mlp.net[0].in_features == 2 * 784 and mlp(torch.randn(6, 1, 28, 28)).shape == (3,)
    dcgan = DCGANDiscriminator(image_size=32, channels=3, width=4, pack=4)
    assert dcgan.net[0].in_channels == 12 and dcgan(torch.randn(8, 3, 32, 32)).shape == (2,)
    with pytest.raises(ConfigError, match="model.pack=0"):
        MLPDiscriminator(channels=1, image_size=28, pack=0)


@pytest.mark.parametrize("preprocess, width", [("moments", 4), ("sorted", 50)])
def test_packing_composes_with_the_gaussian_discriminator(preprocess, width):
    from gan.networks.gaussian import GaussianDiscriminator

    d = GaussianDiscriminator(sample_size=50, preprocess=preprocess, hidden_sizes=[8], pack=2)
    assert d.net[0].in_features == 2 * width  # the features of 2 sets, joined
    assert d(torch.randn(6, 50)).shape == (3,)


@pytest.mark.parametrize("overrides, says", [
    (["model=mixture", "data=ring", "model.discriminator.pack=2"], "model.discriminator.pack=2 differs from model.pack=1"),
    (["model=infogan", "data=mnist", "model.pack=2"], "model.pack=2: InfoGANDiscriminator judges one sample at a time"),
])
def test_model_pack_is_what_d_applies_or_is_refused(make_cfg, overrides, says):
    """`model.pack` is never accepted and ignored: the checks before Lightning and the model itself refuse it."""
    from gan.validate.preflight import check_game

    cfg = make_cfg(*overrides)
    with pytest.raises(ConfigError, match=says):
        check_game(cfg.model, {})
    with pytest.raises(hydra.errors.InstantiationException, match=says):  # gan.run reports its cause's one line
        hydra.utils.instantiate(cfg.model, _convert_="all")


def test_discriminator_judges_points_over_the_mixtures_radius(make_cfg):
    d1 = PointDiscriminator(dim=2, hidden_sizes=[8], pack=2)
    d4 = PointDiscriminator(dim=2, hidden_sizes=[8], pack=2, input_scale=4.0)
    d4.load_state_dict(d1.state_dict())
    points = 4 * torch.randn(6, 2)
    assert torch.allclose(d4(points), d1(points / 4)) and not torch.allclose(d4(points), d1(points))
    with pytest.raises(ConfigError, match="input_scale=0"):
        PointDiscriminator(input_scale=0)
    for data, radius in (("ring", 1.0), ("grid", 4.0)):
        cfg = make_cfg("model=mixture", f"data={data}")
        assert cfg.model.discriminator.input_scale == radius
        # Each of the d_steps D updates of a training step gets its own batch_size slice of real points.
        assert cfg.data.slices == cfg.model.d_steps


def test_each_mixture_gets_its_own_pack_and_schedule(make_cfg):
    # The ring trains a plain GAN, the grid packs 2 (conf/model/mixture.yaml, conf/recipe/mixture_grid.yaml); model.pack
    # still wins.
    for data, pack, decay_start, steps, ema, r1 in (("ring", 1, 0.5, 10_000, 0.999, 0),
                                                    ("grid", 2, 0.0, 15_000, None, 1)):
        cfg = make_cfg("model=mixture", f"data={data}")
        assert cfg.model.pack == pack and cfg.model.discriminator.pack == pack
        assert cfg.model.r1_gamma == r1  # R1 lets the grid's slow seeds separate their modes in time
        assert cfg.model.lr_decay_start == decay_start  # the grid decays its rates from the first step
        # Run lengths: at 5,000 steps ring seed 300 left a mode nearly empty (round 5); at 12,500 grid seed 307
        # ended with 24 modes (round 6).
        assert cfg.trainer.max_epochs * cfg.data.steps_per_epoch == steps
        assert cfg.model.ema_decay == ema  # the ring draws from an average of G, which centres its modes
    assert make_cfg("model=mixture", "data=ring", "model.pack=2").model.discriminator.pack == 2
    assert make_cfg("model=mixture", "data=grid", "model.r1_gamma=0").model.r1_gamma == 0  # the command line wins


# ---- discriminator rejection sampling (model.sampling=drs) ---------------------------------------------------
def test_rejection_keeps_each_draw_with_probability_exp_logit_minus_ceiling():
    from gan.models.rejection import RejectionSampler

    sampler = RejectionSampler(lambda x: torch.where(x[:, 0] > 0, 0.0, math.log(0.25)))  # ratio 1 right, 1/4 left
    sampler.ceiling.fill_(0.0)
    sampler.fit_done.fill_(True)
    generator = torch.Generator().manual_seed(0)
    points, kept = sampler.sample(lambda m: torch.randn(m, 2, generator=generator), 20_000, generator)
    assert points.shape == (20_000, 2)
    assert kept == pytest.approx(0.5 * 1 + 0.5 * 0.25, abs=0.01)
    assert (points[:, 0] > 0).double().mean().item() == pytest.approx(0.8, abs=0.01)  # 1 : 1/4 of an even split
    sampler.ceiling.fill_(100.0)  # keeps nearly nothing: one clear error, not an endless loop
    with pytest.raises(RuntimeError, match="rejects almost all"):
        sampler.sample(lambda m: torch.randn(m, 2), 10, max_draws=50_000)


def test_fitted_critic_drops_the_points_between_the_modes():
    from gan.models.rejection import RejectionSampler
    from gan.networks.points import PointDiscriminator

    torch.manual_seed(0)
    centres, sigma = mixture_centres("ring", 8, 1.0), 0.01

    def fake(n: int) -> torch.Tensor:  # a G with a quarter of its draws spread over the square between the modes
        spread = torch.rand(n, 2) * 2.4 - 1.2
        return torch.where(torch.rand(n, 1) < 0.25, spread, sample_mixture(centres, sigma, n))

    critic = PointDiscriminator(2, [64, 64], pack=1, input_scale=sigma, fourier=64, fourier_scale=0.05)
    sampler = RejectionSampler(critic)
    sampler.fit(lambda n: sample_mixture(centres, sigma, n), fake, steps=300, batch_size=500, lr=3e-3, quantile=0.5,
                margin=2.0)
    raw = mixture_report(fake(2500), centres, sigma)
    points, kept = sampler.sample(fake, 2500)
    report = mixture_report(points, centres, sigma)
    assert raw["high_quality"] < 0.8 and report["high_quality"] > 0.95, (raw, report)
    assert report["modes"] == 8 and 0.3 < kept < 1


def test_fourier_features_of_the_point_discriminator():
    d = PointDiscriminator(dim=2, hidden_sizes=[8], pack=2, fourier=16, fourier_scale=0.5)
    assert d.net[0].in_features == 2 * 2 * 16 and d(torch.randn(6, 2)).shape == (3,)
    assert "features.frequencies" in d.state_dict()  # the same features after loading a checkpoint
    with pytest.raises(ConfigError, match="fourier_scale=0"):
        PointDiscriminator(fourier=4, fourier_scale=0)


@pytest.mark.parametrize("override, message", [("model.sampling=best", "model.sampling='best'"),
                                               ("model.drs_quantile=0", "model.drs_quantile=0, model.drs_margin=2.0"),
                                               ("model.drs_steps=0", "model.drs_steps=0")])
def test_bad_sampling_settings_get_one_clear_error(make_cfg, override, message):
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    with pytest.raises(InstantiationException) as error:  # gan.run prints its cause as one line
        instantiate(make_cfg("model=mixture", "data=ring", override).model)
    assert isinstance(error.value.__cause__, ConfigError) and message in str(error.value.__cause__)
