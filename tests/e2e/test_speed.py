"""Speed without a change to the math (docs/speed.md), in runs: the loop trains the same weights in one pass and in
two; compiled networks train; errors come before Lightning is imported; the throughput benchmark times our loop; the
GPU check says plainly when there is no GPU."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan.validate.preflight import gpu_driver_present
from tests.conftest import SHARED_DATA
from tests.unit.test_speed import assert_same

REPO = Path(__file__).resolve().parents[2]


TINY_MLP = ["model=vanilla", "data=mnist", "data.batch_size=8", "model.generator.hidden_sizes=[16]",
            "model.discriminator.hidden_sizes=[16]", "model.generator.latent_dim=4", "model.eval_samples=10",
            "logger=none", "model.discriminator.dropout=0", "eval.feature_extractor=null"]


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    from tests.unit.test_mnist import random_mnist

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
