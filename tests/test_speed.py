"""Speed without a change to the math (docs/speed.md): D's one pass over [real; fake] gives the two passes' loss and
gradients; the originals keep two passes; compiled networks train; errors come before Lightning is imported; the GPU
check says plainly when there is no GPU."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

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
from gan.validate.preflight import gpu_driver_present
from tests.conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[1]

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


TINY_MLP = ["model=vanilla", "data=mnist", "data.batch_size=8", "model.generator.hidden_sizes=[16]",
            "model.discriminator.hidden_sizes=[16]", "model.generator.latent_dim=4", "model.eval_samples=10",
            "logger=none", "model.discriminator.dropout=0", "model.feature_extractor=null"]


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    from tests.test_mnist import random_mnist

    return random_mnist(tmp_path_factory.mktemp("tiny_mnist"), n_train=40, n_test=10)


def _trained_weights(make_cfg, tiny_mnist, tmp_path, *overrides: str) -> dict:
    import hydra

    from gan.run import train

    cfg = make_cfg(*TINY_MLP, "trainer.max_steps=4", *overrides, output_dir=tmp_path, data_dir=tiny_mnist)
    train(cfg)
    model = hydra.utils.instantiate(cfg.model, _convert_="all")
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    model.load_state_dict(state)
    return {k: v for k, v in model.state_dict().items() if k.startswith(("generator.", "discriminator."))}


def test_the_loop_trains_the_same_weights_in_one_pass_and_in_two(make_cfg, tiny_mnist, tmp_path):
    """Four training steps of the shared loop (D and G updates, Adam) end at the same weights either way."""
    one = _trained_weights(make_cfg, tiny_mnist, tmp_path / "one", "model.d_one_pass=true")
    two = _trained_weights(make_cfg, tiny_mnist, tmp_path / "two", "model.d_one_pass=false")
    for key in one:
        assert_same(one[key], two[key], key)


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


def _compile_works() -> str | None:
    """Why torch.compile cannot run here, or None when it can (it needs dynamo and a C++ compiler on CPU)."""
    if not torch._dynamo.is_dynamo_supported():
        return "torch.compile is not supported on this Python/platform"
    if not (shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")):
        return "no C++ compiler for torch.compile's CPU code (install g++)"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_compile_works() is not None, reason=str(_compile_works()))
def test_compiled_networks_train_a_fast_dev_run(make_cfg, tiny_mnist, tmp_path):
    from gan.run import train

    cfg = make_cfg(*TINY_MLP, "trainer.fast_dev_run=true", "model.compile=true", output_dir=tmp_path / "c",
                   data_dir=tiny_mnist)
    metrics = train(cfg)
    assert torch.isfinite(torch.tensor([metrics["train/d_loss"], metrics["train/g_loss"]])).all()


# Run in a fresh interpreter: records which heavy modules are loaded when the user's error is raised.
PROBE = """
import json, sys
import gan.errors

seen = []
init = gan.errors.GanError.__init__
def record(self, *args):
    seen.append(sorted(m for m in ("pytorch_lightning", "lightning", "torchvision", "torchmetrics", "torch")
                       if m in sys.modules))
    init(self, *args)
gan.errors.GanError.__init__ = record

import gan.run
sys.argv = ["gan.run", *sys.argv[1:]]
try:
    gan.run.cli()
    message = None
except SystemExit as stop:
    message = str(stop.code)
print("PROBE " + json.dumps({"message": message, "heavy_at_error": seen,
                             "heavy_at_exit": [m for m in ("pytorch_lightning", "torchvision") if m in sys.modules]}))
"""
# (command line, what the error says); all but the last are answered before torch is imported too.
FAST_ERRORS = [
    (["model.loss=hinj"], "model.loss='hinj'"),
    (["model.noise=gaussian"], "model.noise='gaussian'"),
    (["model=vanilla", "data=mnist", "paths.data_dir={tmp}/nothing"], "mnist files missing"),
    (["model=dcgan", "data=image_folder", "data.root={tmp}/no_images"], "does not exist"),
    (["paths.output_dir={tmp}/a_file/run"], "cannot write the run folder"),
    (["threads=0"], "threads=0"),
    (["model.discriminator.preprocess=quantiles"], "model.discriminator.preprocess='quantiles'"),
    (["model.generator.activation=swish"], "model.generator.activation='swish'"),
    (["model=dcgan", "data=image_folder", "data.image_size=48"], "data.image_size to one of them"),
    (["model=dcgan", "data=image_folder", "data.image_size=32", "model.discriminator.norm=group"],
     "model.discriminator.norm='group'"),
    (["model=dcgan", "data=image_folder", "data.image_size=32", "model.generator.width=0"], "model.generator.width=0"),
    (["model=vanilla", "data=mnist", "paths.data_dir={mnist}", "model.discriminator.dropout=1.5"], "model.discriminator.dropout=1.5"),
    (["model=vanilla", "data=mnist", "paths.data_dir={mnist}", "model.generator.hidden_sizes=[256,0]"], "positive layer widths"),
    (["model=mixture", "data=ring", "model.discriminator.input_scale=-1"], "model.discriminator.input_scale=-1"),
    (["model=mixture", "data=ring", "model.pack=0"], "model.pack=0"),
    (["trainer=gpu"], "no GPU driver on this machine"),
    (["model=dcgan", "data=image_folder", "data.image_size=32", "model.r1_gamma=10"], "BatchNorm"),
]
WITHOUT_TORCH = len(FAST_ERRORS) - 1


@pytest.mark.parametrize("argv, says", FAST_ERRORS, ids=[" ".join(a) for a, _ in FAST_ERRORS])
def test_user_errors_are_raised_before_lightning_is_imported(tmp_path, tiny_mnist, argv, says):
    light = FAST_ERRORS.index((argv, says)) < WITHOUT_TORCH
    if "trainer=gpu" in argv and gpu_driver_present():
        pytest.skip("this machine has a GPU driver: trainer=gpu is checked with torch here")
    (tmp_path / "a_file").write_text("a file where a folder would go\n")
    (tmp_path / "images").mkdir()
    argv = [a.format(tmp=tmp_path, mnist=tiny_mnist) for a in argv]
    if "data=image_folder" in argv and not any(a.startswith("data.root") for a in argv):
        from tests.seed_recipes import tiny_image_folder

        argv.append(f"data.root={tiny_image_folder(tmp_path / 'images', n=2)}")  # the value is wrong, not the data
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert lines, done.stderr[-2000:]


    probe = json.loads(lines[-1][6:])
    assert probe["message"] and probe["message"].startswith("error: ") and says in probe["message"], probe
    assert probe["heavy_at_error"], probe
    assert probe["heavy_at_error"][0] == ([] if light else ["torch"]), probe  # nothing heavy when it was raised
    assert probe["heavy_at_exit"] == [], probe
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "images"]  # and nothing was written


def test_a_bad_key_is_answered_before_torch_is_imported(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", PROBE, "model.no_such_key=1"], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    probe = json.loads([line for line in done.stdout.splitlines() if line.startswith("PROBE ")][-1][6:])
    assert probe["heavy_at_exit"] == [] and "no_such_key" in done.stderr


def test_the_light_data_checks_name_torchvisions_files():
    from torchvision import datasets

    from gan.validate.data import IDX_FILES, MNIST_FOLDERS

    for name, folder in MNIST_FOLDERS.items():
        cls = getattr(datasets, folder)
        assert [url.rsplit("/", 1)[-1].removesuffix(".gz") for url, _ in cls.resources] == IDX_FILES, name


@pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason="needs MNIST in ../shared/data")
def test_the_throughput_benchmark_times_our_loop_without_callbacks(tmp_path):
    """(c0) of benchmarks/mnist_throughput.py: gan.run's loop with no callbacks, bar or logger; it writes no run."""
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "mnist_throughput.py"), "--way", "c0",
                           "--steps", "2", "--warmup", "1", "--data-dir", str(SHARED_DATA), "--threads", "1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads([line for line in done.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])
    assert result["images_per_s"] > 0 and result["images_per_cpu_s"] > 0
    assert "Epoch" not in done.stdout + done.stderr  # no progress bar
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: gpu_check.sh would run its GPU runs")
def test_gpu_check_says_plainly_that_there_is_no_gpu(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path)}
    done = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2
    assert "no CUDA GPU is visible" in done.stderr and "unmeasured" in done.stderr
    assert not list(tmp_path.iterdir())  # nothing was made or run
