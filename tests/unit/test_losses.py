"""The loss family on hand-made inputs: each formula, the saturating vs non-saturating gradients, the penalties on
a linear critic where their values are known exactly, DiffAugment, spectral norm, and the config errors."""

import math

import pytest
import torch
from torch import nn

from gan.augment import DiffAugment, parse_policy
from gan.errors import ConfigError
from gan.game import GANLoss
from gan.losses import LOSSES, gradient_penalty, r1_penalty
from gan.networks.dcgan import DCGANDiscriminator
from gan.networks.mlp import MLPDiscriminator

REAL = torch.tensor([2.0, -1.0, 0.5])  # D's logits (or scores) on three real samples
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


# Each loss written from its paper, one sample at a time, in plain Python floats.
EXPECTED = {
    "bce": (
        -_mean(math.log(_sigmoid(r)) for r in REAL.tolist()) - _mean(math.log(1 - _sigmoid(f)) for f in FAKE.tolist()),
        -_mean(math.log(_sigmoid(f)) for f in FAKE.tolist()),
    ),
    "minimax": (  # the lecture's V(D, G): D maximises log D(x) + log(1 - D(G(z))), G minimises log(1 - D(G(z)))
        -_mean(math.log(_sigmoid(r)) for r in REAL.tolist()) - _mean(math.log(1 - _sigmoid(f)) for f in FAKE.tolist()),
        _mean(math.log(1 - _sigmoid(f)) for f in FAKE.tolist()),
    ),
    "hinge": (
        _mean(max(0, 1 - r) for r in REAL.tolist()) + _mean(max(0, 1 + f) for f in FAKE.tolist()),
        -_mean(FAKE.tolist()),
    ),
    "lsgan": (
        _mean(0.5 * (r - 1) ** 2 for r in REAL.tolist()) + _mean(0.5 * f**2 for f in FAKE.tolist()),
        _mean(0.5 * (f - 1) ** 2 for f in FAKE.tolist()),
    ),
    "wgan": (_mean(FAKE.tolist()) - _mean(REAL.tolist()), -_mean(FAKE.tolist())),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_each_loss_equals_its_formula(name):
    d_loss, g_loss = LOSSES[name]
    assert set(EXPECTED) == set(LOSSES)
    assert d_loss(REAL, FAKE).item() == pytest.approx(EXPECTED[name][0], rel=1e-6)
    assert g_loss(FAKE).item() == pytest.approx(EXPECTED[name][1], rel=1e-6)


def test_saturating_generator_loses_its_gradient_when_d_rejects_fakes():
    """D(G(z)) -> 0 (logit -> -inf): d/dl log(1 - sigmoid(l)) = -sigmoid(l) -> 0, while the non-saturating
    -log sigmoid(l) has gradient -(1 - sigmoid(l)) -> -1 (Goodfellow et al. 2014, sec. 3)."""
    gradients = {}
    for name in ("minimax", "bce"):
        logits = torch.tensor([-12.0, -15.0], requires_grad=True)  # D(G(z)) ~ 6e-6 and 3e-7
        LOSSES[name][1](logits).backward()
        gradients[name] = logits.grad
    assert gradients["minimax"].abs().max() < 1e-5
    torch.testing.assert_close(gradients["bce"], torch.full((2,), -0.5), atol=1e-5, rtol=0)  # -1 / batch of 2


class LinearCritic(nn.Module):
    """D(x, c) = w . x + b: its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor, b: float = 0.3) -> None:
        super().__init__()
        self.w, self.b = nn.Parameter(w.clone()), nn.Parameter(torch.tensor(b))

    def forward(self, x: torch.Tensor, c=None) -> torch.Tensor:
        return x.flatten(1) @ self.w + self.b


W = torch.tensor([3.0, -4.0, 1.0, 2.0])  # ||w|| = sqrt(30)


def test_gradient_penalty_of_a_linear_critic_is_exact():
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2)
    expected = (W.norm() - 1) ** 2
    torch.testing.assert_close(gradient_penalty(LinearCritic(W), real, fake), expected)
    loss = GANLoss("wgan", gradient_penalty=10)
    _, figures = loss.d_loss(LinearCritic(W), real, fake)
    torch.testing.assert_close(figures["train/gp"], 10 * expected)
    unit = LinearCritic(W / W.norm())  # a 1-Lipschitz critic is not penalised
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_r1_of_a_linear_critic_is_exact_and_lazy():
    critic, real = LinearCritic(W), torch.randn(8, 4)
    x = real.clone().requires_grad_(True)
    torch.testing.assert_close(r1_penalty(critic(x), x), W.pow(2).sum())
    loss = GANLoss("bce", r1_gamma=0.5, r1_every=4)
    plain = GANLoss("bce")
    fake = torch.randn(8, 4)
    total, figures = loss.d_loss(critic, real, fake, d_update=8)  # 8 % 4 == 0: R1 on this update
    torch.testing.assert_close(figures["train/r1"], 0.5 / 2 * W.pow(2).sum())
    torch.testing.assert_close(total, plain.d_loss(critic, real, fake)[0] + 4 * figures["train/r1"])  # x r1_every
    skipped, figures = loss.d_loss(critic, real, fake, d_update=9)
    torch.testing.assert_close(skipped, plain.d_loss(critic, real, fake)[0])  # no R1 between two lazy updates
    assert "train/r1" in figures  # the latest R1 value stays on display
    assert "train/r1" not in GANLoss("bce", r1_gamma=0.5, r1_every=4).d_loss(critic, real, fake, d_update=9)[1]


def test_penalties_train_the_critic():
    """The penalty's graph reaches D's weights: a step on GP alone moves ||w|| toward 1."""
    critic = LinearCritic(W)
    loss, _ = GANLoss("wgan", gradient_penalty=1).d_loss(critic, torch.zeros(4, 4), torch.zeros(4, 4))
    loss.backward()  # the wgan term is b - b = 0 on equal inputs; only the penalty remains
    torch.testing.assert_close(critic.w.grad, 2 * (W.norm() - 1) * W / W.norm())


def test_display_follows_the_loss():
    probability = GANLoss("bce").scores(REAL, FAKE)
    assert set(probability) == {"train/d_real", "train/d_fake"}
    assert probability["train/d_real"].item() == pytest.approx(_mean(_sigmoid(r) for r in REAL.tolist()))
    critic = GANLoss("wgan").scores(REAL, FAKE)
    assert set(critic) == {"train/score_real", "train/score_fake", "train/wasserstein"}
    assert critic["train/wasserstein"].item() == pytest.approx(_mean(REAL.tolist()) - _mean(FAKE.tolist()))
    assert "train/wasserstein" in GANLoss("hinge").scores(REAL, FAKE)
    assert set(GANLoss("lsgan").scores(REAL, FAKE)) == {"train/score_real", "train/score_fake"}


# ---- DiffAugment ---------------------------------------------------------------------------------
def _augment(policy, x, seed):
    return DiffAugment(policy)(x, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_diffaugment_is_seeded_differentiable_and_keeps_shapes(policy):
    x = torch.rand(6, 3, 16, 12, requires_grad=True)
    out = _augment(policy, x, seed=0)
    assert out.shape == x.shape
    torch.testing.assert_close(out, _augment(policy, x, seed=0), rtol=0, atol=0)
    assert not torch.equal(out, _augment(policy, x, seed=1))
    assert not torch.equal(out, x)
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_moves_content_and_cutout_blanks_a_square():
    x = torch.arange(1, 1 + 8 * 8, dtype=torch.float32).view(1, 1, 8, 8).repeat(32, 1, 1, 1)
    moved = _augment("translation", x, seed=0)
    for image in moved:  # each image is the original shifted: its non-zero values form a block of it
        kept = image[image != 0]
        assert set(kept.tolist()) <= set(x[0].flatten().tolist()) and len(kept) >= 7 * 7 - 1
    blanked = _augment("cutout", torch.ones(32, 1, 8, 8), seed=0)
    zeros = (blanked == 0).flatten(1).sum(1)
    assert zeros.max() == 16 and zeros.min() >= 4  # a 4 x 4 square, clipped at the borders


def test_policy_forms_and_unknown_names():
    assert parse_policy("cutout, translation") == ("translation", "cutout")  # applied in the paper's order
    assert parse_policy(["color", "cutout"]) == ("color", "cutout") and parse_policy(None) == ()
    with pytest.raises(ConfigError, match="unknown augmentation 'flip'.*translation"):
        parse_policy("translation,flip")


# ---- spectral norm --------------------------------------------------------------------------------
def _top_singular_values(d: nn.Module) -> list[float]:
    return [torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item()
            for m in d.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def test_spectral_norm_bounds_each_layer_near_one():
    """Layers made 5x too strong: spectral norm brings each one's largest singular value to 1 within a few steps."""
    torch.manual_seed(0)
    for spectral in (False, True):
        d = MLPDiscriminator(channels=1, image_size=8, hidden_sizes=[32, 16], spectral_norm=spectral)
        with torch.no_grad():
            for weight in d.parameters():
                weight.mul_(5)
        optimizer = torch.optim.Adam(d.parameters(), lr=1e-3)
        for _ in range(50):  # each training forward runs one power iteration
            optimizer.zero_grad()
            d(torch.randn(16, 1, 8, 8)).mean().backward()
            optimizer.step()
        sigmas = _top_singular_values(d)
        if spectral:
            assert all(abs(s - 1) < 0.05 for s in sigmas), sigmas
        else:
            assert all(s > 2 for s in sigmas), sigmas


def test_spectral_norm_reaches_every_discriminator():
    for d in (MLPDiscriminator(1, 8, [4], spectral_norm=True), DCGANDiscriminator(32, 1, 2, spectral_norm=True)):
        layers = [m for m in d.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        assert layers and all(hasattr(m, "parametrizations") for m in layers)


# ---- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "ralsgan"}, "model.loss='ralsgan' is not one of: bce, minimax, hinge, lsgan, wgan"),
    ({"gradient_penalty": -1}, "model.gradient_penalty=-1: a penalty weight cannot be negative"),
    ({"r1_gamma": -0.1}, "model.r1_gamma=-0.1: a penalty weight cannot be negative"),
    ({"r1_every": 0}, "model.r1_every=0: .* use 1 or more"),
    ({"augment": "translation,zoom"}, "unknown augmentation 'zoom'"),
])
def test_impossible_settings_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        GANLoss(**kwargs)


@pytest.mark.parametrize("penalty", [{"gradient_penalty": 10}, {"r1_gamma": 1}])
def test_penalty_with_batchnorm_is_refused_and_other_norms_pass(penalty):
    loss = GANLoss("wgan", **penalty)
    with pytest.raises(ConfigError, match="BatchNorm.*model.discriminator.norm=none"):
        loss.check(DCGANDiscriminator(32, 1, 2))
    for norm in ("none", "layer", "instance"):
        d = DCGANDiscriminator(32, 1, 2, norm=norm)
        loss.check(d)
        assert d(torch.randn(2, 1, 32, 32)).shape == (2,)
    GANLoss("wgan").check(DCGANDiscriminator(32, 1, 2))  # no penalty: the original's BatchNorm is fine
