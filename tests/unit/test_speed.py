"""Speed without a change to the math (docs/speed.md): D's one pass over [real; fake] gives the two passes' loss and
gradients; dropout masks; the originals keep two passes."""

import pytest
import torch
from hydra.errors import InstantiationException
from torch import nn

from gan.errors import ConfigError
from gan.game import GANLoss
from gan.networks.dcgan import DCGANDiscriminator
from gan.networks.gaussian import GaussianDiscriminator
from gan.networks.mlp import MLPDiscriminator, UniformDropout
from gan.networks.points import PointDiscriminator

# D's without batch statistics, as the configs build them (tiny): (name, D factory, real/fake batch factory).
IMAGES = lambda b: torch.randn(b, 3, 32, 32)  # noqa: E731
DISCRIMINATORS = {
    "mlp": (lambda: MLPDiscriminator(1, 28, hidden_sizes=[32, 16], dropout=0.0), lambda b: torch.randn(b, 1, 28, 28)),
    "mlp_conditional": (lambda: MLPDiscriminator(1, 28, hidden_sizes=[16], dropout=0.0, num_classes=10),
                        lambda b: torch.randn(b, 1, 28, 28)),
    "gaussian_sorted": (lambda: GaussianDiscriminator(20, "sorted", [16, 16], "leaky_relu"), lambda b: torch.randn(b, 20)),
    "gaussian_moments_pack2": (lambda: GaussianDiscriminator(20, "moments", [10, 10], "sigmoid", pack=2),
                               lambda b: torch.randn(b, 20)),
    "points_pack2": (lambda: PointDiscriminator(hidden_sizes=[16, 16], pack=2), lambda b: torch.randn(b, 2)),
    "dcgan_none": (lambda: DCGANDiscriminator(32, 3, width=4, norm="none"), IMAGES),
    "dcgan_layer": (lambda: DCGANDiscriminator(32, 3, width=4, norm="layer"), IMAGES),
    "dcgan_instance": (lambda: DCGANDiscriminator(32, 3, width=4, norm="instance"), IMAGES),
    "dcgan_projection": (lambda: DCGANDiscriminator(32, 3, width=4, norm="layer", num_classes=5), IMAGES),
}
GAMES = {
    "bce": {"loss": "bce"},
    "hinge": {"loss": "hinge"},
    "wgan_gp": {"loss": "wgan", "gradient_penalty": 10.0},
    "r1": {"loss": "bce", "r1_gamma": 1.0, "r1_every": 1},
    "augment": {"loss": "lsgan", "augment": "translation,cutout,color"},
}


def assert_same(a: torch.Tensor, b: torch.Tensor, what: str = "", rel: float = 1e-5) -> None:
    """Equal up to float rounding: summing 2B rows in one GEMM rounds differently from two sums of B rows, so the
    norm of the difference is held to `rel` of the tensor's norm (a real change of the math is far above it)."""
    assert a.shape == b.shape, what
    assert (a - b).norm() <= rel * b.norm() + 1e-7, f"{what}: |a - b| = {(a - b).norm():.3g}, |b| = {b.norm():.3g}"


def d_update(discriminator: nn.Module, game: dict, one_pass: bool, real, fake, c, seed: int = 0):
    """(loss, figures, {name: grad}, D forward calls) of one D loss and its backward, from RNG state `seed`."""
    calls = []
    hook = discriminator.register_forward_hook(lambda *args: calls.append(1))
    torch.manual_seed(seed)
    loss, figures = GANLoss(**game, one_pass=one_pass).d_loss(discriminator, real, fake, c, d_update=0)
    discriminator.zero_grad(set_to_none=True)
    loss.backward()
    hook.remove()
    return loss.detach(), figures, {n: p.grad.clone() for n, p in discriminator.named_parameters()}, len(calls)


def compare(discriminator, batch, game, b: int = 6, conditional: bool = False):
    torch.manual_seed(1)
    real, fake = batch(b), batch(b)
    c = torch.randint(0, 5, (b,)) if conditional else None
    one = d_update(discriminator, game, True, real, fake, c)
    two = d_update(discriminator, game, False, real, fake, c)
    return one, two


# DiffAugment transforms (B, C, H, W) images: with the convolutional D's here, with the MLP's in the next test.
PAIRS = [(name, game) for name in DISCRIMINATORS for game in GAMES if name.startswith("dcgan") or game != "augment"]


@pytest.mark.parametrize("name, game", PAIRS)
def test_one_pass_gives_the_two_passes_loss_and_gradients(name, game):
    make, batch = DISCRIMINATORS[name]
    torch.manual_seed(0)
    discriminator = make()
    (loss1, fig1, grad1, calls1), (loss2, fig2, grad2, calls2) = compare(
        discriminator, batch, GAMES[game], conditional="conditional" in name or "projection" in name)
    gp_calls = 1 if GAMES[game].get("gradient_penalty") else 0
    assert (calls1, calls2) == (1 + gp_calls, 2 + gp_calls)  # the one-pass path really ran
    assert_same(loss1, loss2)
    assert fig1.keys() == fig2.keys()
    for key in fig1:
        assert_same(fig1[key], fig2[key])
    assert grad1.keys() == grad2.keys()
    for key in grad1:
        assert_same(grad1[key], grad2[key], f"{name} {game}: {key}")


def test_one_pass_with_augmentation_of_mnist_images_is_exact():
    discriminator = MLPDiscriminator(1, 28, hidden_sizes=[16], dropout=0.0)
    one, two = compare(discriminator, lambda b: torch.randn(b, 1, 28, 28), GAMES["augment"])
    assert_same(one[0], two[0])
    for key in one[2]:
        assert_same(one[2][key], two[2][key])


class ReplayDropout(nn.Module):
    """Dropout whose masks can be recorded (one pass over 2B rows) and replayed in halves (two passes of B rows)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p, self.recorded, self.replay = p, [], None

    def forward(self, x):
        if self.replay is None:
            mask = (torch.rand_like(x) >= self.p).to(x.dtype) / (1 - self.p)
            self.recorded.append(mask)
        else:
            mask = self.replay.pop(0)
        return x * mask


def test_one_pass_with_the_same_dropout_masks_is_exact():
    """Dropout draws its masks in another order in one pass; given the same masks, the numbers are the same."""
    torch.manual_seed(0)
    discriminator = MLPDiscriminator(1, 28, hidden_sizes=[32, 16], dropout=0.3)
    drops = []
    for i, module in enumerate(discriminator.net):
        if isinstance(module, nn.Dropout):
            discriminator.net[i] = ReplayDropout(0.3)
            drops.append(discriminator.net[i])
    real, fake = torch.randn(6, 1, 28, 28), torch.randn(6, 1, 28, 28)
    one = d_update(discriminator, GAMES["bce"], True, real, fake, None)
    for drop in drops:  # (2B, width) recorded in the one pass -> B rows for the real pass, then B for the fake
        (mask,) = drop.recorded
        drop.replay = [mask[:6], mask[6:]]
    two = d_update(discriminator, GAMES["bce"], False, real, fake, None)
    assert_same(one[0], two[0])
    for key in one[2]:
        assert_same(one[2][key], two[2][key])


def test_with_dropout_one_pass_and_two_passes_agree_in_distribution():
    """Over many draws of the dropout masks, the D loss has the same mean and spread either way."""
    torch.manual_seed(0)
    discriminator = MLPDiscriminator(1, 28, hidden_sizes=[32, 16], dropout=0.3)
    real, fake = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28)
    losses = {}
    for one_pass in (True, False):
        game = GANLoss("bce", one_pass=one_pass)
        torch.manual_seed(1)
        with torch.no_grad():
            losses[one_pass] = torch.stack([game.d_loss(discriminator, real, fake)[0] for _ in range(2000)])
    mean1, mean2 = losses[True].mean(), losses[False].mean()
    sd = losses[True].std()
    assert not torch.equal(losses[True], losses[False])  # the masks really differ, draw by draw
    assert abs(mean1 - mean2) < 4 * sd * (2 / 2000) ** 0.5, (mean1, mean2, sd)
    assert 0.9 < losses[True].std() / losses[False].std() < 1.1


def test_uniform_dropout_masks_have_torchs_distribution():
    """`dropout_masks=uniform` keeps each unit with probability 1 - p, scaled by 1 / (1 - p), as nn.Dropout; its
    gradient is the same mask; in eval mode it is the identity."""
    torch.manual_seed(0)
    drop = UniformDropout(0.3)
    x = torch.ones(400, 1000, requires_grad=True)
    y = drop(x)
    values = y.detach().unique()
    assert torch.allclose(values, torch.tensor([0.0, 1 / 0.7])), values
    kept = (y > 0).float().mean().item()
    assert abs(kept - 0.7) < 5 * (0.7 * 0.3 / x.numel()) ** 0.5, kept  # 5 standard errors of 400,000 draws
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # d(x * mask)/dx = mask
    assert not torch.equal(drop(x), drop(x))  # fresh masks each call
    drop.eval()
    assert drop(x) is x


def test_uniform_and_torch_dropout_masks_give_the_same_loss_distribution():
    """The D loss over 2,000 mask draws has the same mean and spread with either way of drawing the masks."""
    losses = {}
    for masks in ("uniform", "bernoulli"):
        torch.manual_seed(0)
        discriminator = MLPDiscriminator(1, 28, hidden_sizes=[32, 16], dropout=0.3, dropout_masks=masks)
        real, fake = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28)
        torch.manual_seed(1)
        with torch.no_grad():
            losses[masks] = torch.stack([GANLoss("bce").d_loss(discriminator, real, fake)[0] for _ in range(2000)])
    uniform, bernoulli = losses["uniform"], losses["bernoulli"]
    assert not torch.equal(uniform, bernoulli)  # different numbers, draw by draw
    assert abs(uniform.mean() - bernoulli.mean()) < 4 * uniform.std() * (2 / 2000) ** 0.5
    assert 0.9 < uniform.std() / bernoulli.std() < 1.1


def test_the_seed_experiment_keeps_torchs_dropout_masks(make_cfg):
    assert make_cfg("experiment=mnist_seed").model.discriminator.dropout_masks == "bernoulli"
    assert make_cfg("model=vanilla", "data=mnist").model.discriminator.dropout_masks == "uniform"


def test_spectral_norm_one_pass_matches_once_the_power_iteration_has_settled():
    """One pass runs one power iteration per D loss where two passes run two; once u has converged they agree."""
    torch.manual_seed(0)
    discriminator = DCGANDiscriminator(32, 3, width=4, norm="none", spectral_norm=True)
    with torch.no_grad():
        for _ in range(200):
            discriminator(torch.randn(2, 3, 32, 32))
    one, two = compare(discriminator, IMAGES, GAMES["hinge"])
    assert_same(one[0], two[0])
    for key in one[2]:
        assert_same(one[2][key], two[2][key])


def test_batchnorm_and_straddling_packs_keep_two_passes():
    torch.manual_seed(0)
    batchnorm = DCGANDiscriminator(32, 3, width=4, norm="batch")
    one, two = compare(batchnorm, IMAGES, GAMES["bce"])
    assert (one[3], two[3]) == (2, 2)
    assert torch.equal(one[0], two[0])
    packed = PointDiscriminator(hidden_sizes=[8], pack=2)
    with pytest.raises(ConfigError, match="a batch of 3 samples"):  # not 6: real is packed on its own, as before
        compare(packed, lambda b: torch.randn(b, 2), GAMES["bce"], b=3)


def test_the_seed_experiments_keep_two_passes_and_the_plain_adam(make_cfg):
    for experiment in ("gaussian_seed", "mnist_seed", "dcgan_seed"):
        model = make_cfg(f"experiment={experiment}").model
        assert model.d_one_pass is False and not model.compile
        if model.d_optimizer._target_ == "torch.optim.Adam":  # (the "GANs in 50 lines" program's SGD was never changed)
            assert model.d_optimizer.fused is False and model.g_optimizer.fused is False


def test_compile_with_a_penalty_is_refused(make_cfg):
    import hydra

    cfg = make_cfg("model.compile=true", "model.gradient_penalty=10")
    with pytest.raises(InstantiationException, match="model.compile=true with a gradient penalty"):
        hydra.utils.instantiate(cfg.model, _convert_="all")


def test_the_light_data_checks_name_torchvisions_files():
    from torchvision import datasets

    from gan.validate.data import IDX_FILES, MNIST_FOLDERS

    for name, folder in MNIST_FOLDERS.items():
        cls = getattr(datasets, folder)
        assert [url.rsplit("/", 1)[-1].removesuffix(".gz") for url, _ in cls.resources] == IDX_FILES, name
