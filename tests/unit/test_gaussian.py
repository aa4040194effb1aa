"""The 1-D Gaussian GAN: networks, preprocesses, metrics, the learning-rate decay and the seed recipe."""

import hydra
import numpy as np
import pytest
import scipy.stats
import torch
from hydra.errors import InstantiationException

from gan.errors import ConfigError
from gan.eval.gaussian import gaussian_report, ks_normal, w1_normal, w1_samples
from gan.models.schedule import decay_factor
from gan.networks.gaussian import (
    PREPROCESS,
    GaussianDiscriminator,
    GaussianGenerator,
    moments,
)


@pytest.mark.parametrize(
    "mode, width", [("moments", 4), ("raw", 500), ("variances", 1000), ("diffs", 1000), ("sorted", 500)]
)
def test_discriminator_input_follows_preprocess(mode, width):
    d = GaussianDiscriminator(sample_size=500, preprocess=mode)
    assert d.net[0].in_features == width
    assert d(torch.randn(3, 500)).shape == (3,)


def test_moments_match_hand_computation():
    x = torch.tensor([[1.0, 2.0, 3.0, 10.0]])
    m = moments(x)[0]
    mean, std = 4.0, np.sqrt(np.mean((np.array([1, 2, 3, 10]) - 4.0) ** 2))
    assert m[0].item() == pytest.approx(mean)
    assert m[1].item() == pytest.approx(std, rel=1e-6)
    assert m[2].item() == pytest.approx(scipy.stats.skew([1, 2, 3, 10]), rel=1e-5)
    assert m[3].item() == pytest.approx(scipy.stats.kurtosis([1, 2, 3, 10]), rel=1e-5)


def test_diff_preprocesses_append_centred_powers():
    x = torch.tensor([[1.0, 3.0]])
    assert PREPROCESS["diffs"][0](x).tolist() == [[1.0, 3.0, -1.0, 1.0]]
    assert PREPROCESS["variances"][0](x).tolist() == [[1.0, 3.0, 1.0, 1.0]]


def test_sorted_preprocess_orders_each_set_and_passes_gradients():
    x = torch.tensor([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]], requires_grad=True)
    out = PREPROCESS["sorted"][0](x)
    assert out.tolist() == [[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]]
    out[:, 0].sum().backward()  # the smallest draw of each set gets the gradient
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]


def test_lr_decay_factor_holds_then_falls_to_zero():
    assert [decay_factor(t, 100, 0.5) for t in (0, 50, 75, 100)] == [1.0, 1.0, 0.5, 0.0]
    assert decay_factor(10, 100, 0.0) == pytest.approx(0.9)


def test_generator_maps_each_draw():
    g = GaussianGenerator(noise_dim=1, hidden_sizes=[5, 5])
    assert g(torch.rand(2, 500, 1)).shape == (2, 500)
    assert len([m for m in g.net if isinstance(m, torch.nn.Linear)]) == 3  # 1 -> 5 -> 5 -> 1


def test_tails_continue_the_body_in_a_straight_line_beyond_the_threshold():
    """With tails_from=t, a uniform draw beyond the normal quantile t goes on along the secant of G between t - 1
    and t, so G reaches past what its bounded network can (no pile at its edges); inside, G is its network."""
    torch.manual_seed(0)
    g = GaussianGenerator(noise_dim=1, hidden_sizes=[8, 8], tails_from=2.0)
    normal = torch.distributions.Normal(0.0, 1.0)
    z = torch.tensor([-5.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 5.0])
    u = normal.cdf(z).view(1, -1, 1)
    with torch.no_grad():
        out, net = g(u)[0], g.net(u).view(-1)
    at = dict(zip(z.tolist(), net.tolist()))
    inside = z.abs() <= 2
    torch.testing.assert_close(out[inside], net[inside])
    for side in (1.0, -1.0):
        edge, slope = at[2.0 * side], (at[2.0 * side] - at[1.0 * side]) * side
        for far in (3.0, 5.0):
            assert out[z == far * side].item() == pytest.approx(edge + slope * (far - 2.0) * side, abs=1e-3)
    # the network alone is bounded: at z = 5 it is barely past z = 3; the tails are not
    assert abs(net[-1] - net[-2]) < abs(out[-1] - out[-2]) / 10
    # A tail draw moves where the line starts, G at z = t, and not its slope (the body's own).
    g(normal.cdf(torch.tensor([3.0])).view(1, 1, 1)).sum().backward()
    from_tail = [p.grad.clone() for p in g.net.parameters()]
    g.zero_grad()
    g.net(normal.cdf(torch.tensor([2.0])).view(1, 1)).sum().backward()
    for tail, edge in zip(from_tail, (p.grad for p in g.net.parameters())):
        torch.testing.assert_close(tail, edge, rtol=1e-3, atol=1e-6)


def test_tails_need_uniform_noise(make_cfg):
    """Said by the generator itself (`check_noise`): before Lightning by gan.run, and by a GAN built in code."""
    from gan.validate.preflight import preflight

    cfg = make_cfg("model.noise=normal", "++model.generator.tails_from=2")
    with pytest.raises(ConfigError, match="^model.generator.tails_from reads .* model.noise=normal; set model.noise="):
        preflight(cfg)
    with pytest.raises(InstantiationException) as error:
        hydra.utils.instantiate(cfg.model, _convert_="all")
    assert isinstance(error.value.__cause__, ConfigError) and "set model.noise=uniform" in str(error.value.__cause__)
    preflight(make_cfg("model.noise=uniform", "++model.generator.tails_from=2"))  # the default recipe's pairing


def test_unknown_preprocess_is_a_config_error():
    with pytest.raises(ConfigError, match="moments"):
        GaussianDiscriminator(sample_size=500, preprocess="quantiles")


def test_ks_and_w1_match_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(4.3, 1.1, 5000)
    t = torch.from_numpy(x)
    assert ks_normal(t, 4.0, 1.25) == pytest.approx(scipy.stats.kstest(x, "norm", args=(4.0, 1.25)).statistic, rel=1e-6)
    y = rng.normal(4.0, 1.25, 5000)
    assert w1_samples(t, torch.from_numpy(y)) == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-9)
    # Against the exact normal, W1 agrees with scipy on a dense quantile grid of the target.
    grid = scipy.stats.norm(4.0, 1.25).ppf((np.arange(200_000) + 0.5) / 200_000)
    assert w1_normal(t, 4.0, 1.25) == pytest.approx(scipy.stats.wasserstein_distance(x, grid), abs=2e-3)


def test_report_of_true_samples_is_near_zero_error():
    x = torch.randn(100_000, dtype=torch.float64) * 1.25 + 4.0
    report = gaussian_report(x, 4.0, 1.25)
    assert report["mean_error"] < 0.02 and report["std_error"] < 0.02
    assert report["ks"] < 0.01 and report["w1"] < 0.02
    shifted = gaussian_report(x + 0.5, 4.0, 1.25)
    assert shifted["w1"] == pytest.approx(0.5, abs=0.02) and shifted["ks"] > 0.1


def test_seed_experiment_is_the_seed_program(make_cfg):
    """experiment=gaussian_seed keeps the original's choices, whatever our default recipe changes."""
    cfg = make_cfg("experiment=gaussian_seed", "logger=none")
    model = hydra.utils.instantiate(cfg.model)
    d_opt, g_opt = model.configure_optimizers()
    for opt in (d_opt, g_opt):
        assert isinstance(opt, torch.optim.SGD)
        assert opt.defaults["lr"] == 1e-3 and opt.defaults["momentum"] == 0.9
    assert (model.hparams.d_steps, model.hparams.g_steps) == (20, 20)
    assert model.generator_ema is None and model.hparams.noise == "uniform"
    assert cfg.data.sets_per_update == 1 and cfg.data.sample_size == 500
    assert cfg.trainer.max_epochs * cfg.data.steps_per_epoch == 5000


def test_benchmark_baseline_checks_and_stops():
    """The benchmark's plain original program calls its check every `check_every` epochs and stops on True."""
    from benchmarks.gaussian_baseline import train_baseline

    seen = []

    def check(epoch, sample):
        seen.append((epoch, sample(7).shape))
        return epoch >= 2

    result = train_baseline(seed=0, max_epochs=5, check=check, check_every=1)
    assert seen == [(1, (7,)), (2, (7,))]
    assert result["epochs"] == 2 and result["stopped"]
