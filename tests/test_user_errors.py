"""What a user can get wrong: each mistake ends with one `error:` line, creates nothing and loses nothing saved.

Also: run folders are self-contained (a moved run resumes into itself), the sweep as users type it, saved configs
that would run foreign code, high-bit-depth images, and the messages of stops (NaN, double Ctrl-C, a finished run).
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import yaml
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict
from PIL import Image

import gan.run
from gan.data.image_folder import load_image

# A few steps of the Gaussian GAN on small sets: a run takes a second or two.
QUICK = ["data.steps_per_epoch=4", "data.sample_size=50", "model.eval_samples=500", "logger=none",
         "model.d_steps=1", "model.g_steps=1"]


def run_main(monkeypatch, cwd: Path, *argv: str):
    """`python -m gan.run <argv>` in this process, from `cwd`, as a user types it (no test-only overrides)."""
    GlobalHydra.instance().clear()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["gan.run", *argv])
    try:
        return gan.run.cli()
    finally:
        GlobalHydra.instance().clear()


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `root` with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture
def trained(monkeypatch, tmp_path) -> Path:
    """A finished 4-step run in `<tmp>/work/done`."""
    work = tmp_path / "work"
    work.mkdir()
    run_main(monkeypatch, work, *QUICK, "trainer.max_steps=4", "paths.output_dir=done")
    assert (work / "done" / "checkpoints" / "last.ckpt").is_file()
    return work / "done"


def test_the_readme_sweep_runs_as_typed_and_groups_by_model_and_data(monkeypatch, tmp_path):
    """No hydra.sweep.dir given: the sweep folder is named from the group choices, as users get it."""
    run_main(monkeypatch, tmp_path, "-m", "model.g_lr=1e-4,2e-4", *QUICK, "trainer.max_steps=2")
    (sweep,) = (tmp_path / "outputs" / "multirun" / "gaussian-gaussian").iterdir()
    jobs = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert len(jobs) == 2 and "model.g_lr=0.0001" in jobs[0] and "model.g_lr=0.0002" in jobs[1]
    for job in jobs:  # one job, one folder: its record and its run.log beside its checkpoints
        assert {".hydra", "run.log", "config.yaml", "metrics.json", "checkpoints"} <= {p.name for p in (sweep / job).iterdir()}
    assert (sweep / "summary.csv").is_file()


def test_a_moved_run_resumes_into_its_new_folder_only(monkeypatch, trained):
    work = trained.parent
    trained.rename(work / "moved")
    before = snapshot(work)
    run_main(monkeypatch, work, "resume=moved", "trainer.max_steps=8")
    assert not (work / "done").exists(), "resuming the moved run wrote into its old folder"
    written = set(snapshot(work)) - set(before)
    assert written and all(name.startswith("moved/") for name in written), written
    step = torch.load(work / "moved/checkpoints/last.ckpt", weights_only=True)["global_step"]
    assert step == 8 * (1 + 1)  # 8 training steps of 1 D and 1 G update: continued, into the moved folder
    saved = yaml.safe_load((work / "moved" / "config.yaml").read_text())
    assert saved["callbacks"]["last_checkpoint"]["dirpath"] == str(work / "moved" / "checkpoints")


def test_one_run_one_folder_with_output_dir(monkeypatch, tmp_path):
    run_main(monkeypatch, tmp_path, *QUICK, "trainer.max_steps=1", "paths.output_dir=X")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]  # no outputs/ with Hydra's files elsewhere
    assert {".hydra", "run.log", "config.yaml", "metrics.json"} <= {p.name for p in (tmp_path / "X").iterdir()}
    assert (tmp_path / "X" / ".hydra" / "overrides.yaml").is_file() and (tmp_path / "X" / "run.log").stat().st_size > 0


def test_hydra_run_dir_chooses_the_run_folder(monkeypatch, tmp_path):
    """`hydra.run.dir=X`, Hydra's own way to name a run's folder, is the run folder, as `paths.output_dir=X` is."""
    run_main(monkeypatch, tmp_path, *QUICK, "trainer.max_steps=1", "hydra.run.dir=mine")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    saved = yaml.safe_load((tmp_path / "mine" / "config.yaml").read_text())
    assert saved["paths"]["output_dir"] == str(tmp_path / "mine") and (tmp_path / "mine" / "metrics.json").is_file()


def test_the_models_base_is_not_a_model(monkeypatch, tmp_path):
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, tmp_path, "model=_gan", "logger=none")
    assert str(stop.value).startswith("error: model=_gan is not a model") and not any(tmp_path.iterdir())


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:5000])


# (command line, text the error line must hold); {run} is a finished run, {copy} a copy of it, {work} the cwd.
BAD_INPUTS = [
    (["seed=abc"], "seed='abc'"),
    (["seed=-5"], "seed=-5"),
    (["trainer.max_steps=abc"], "trainer.max_steps='abc'"),
    (["trainer.max_steps=-5"], "trainer.max_steps=-5"),
    (["trainer.max_steps=0"], "trainer.max_steps=0"),
    (["model.d_steps=1.5"], "model.d_steps=1.5"),
    (["model.d_lr=abc"], "model.d_lr='abc'"),
    (["model.discriminator.preprocess=quantiles"], "model.discriminator.preprocess='quantiles'"),
    (["resume=outputs/runs/nope"], "resume=outputs/runs/nope"),
    (["resume={copy}", "seed=abc"], "seed='abc'"),
    (["ckpt_path={work}/missing.ckpt"], "missing.ckpt does not exist"),
    (["ckpt_path={copy}/checkpoints/last.ckpt", "truncate"], "cannot read checkpoint"),
    (["resume={copy}", "truncate"], "cannot read checkpoint"),
    (["ckpt_path={run}/checkpoints/last.ckpt", "model.generator.hidden_sizes=[7,7]"], "does not fit this model"),
    (["paths.output_dir={work}/a_file/run"], "cannot write the run folder"),
    (["hydra.run.dir={work}/mine", "seed=abc"], "seed='abc'"),  # Hydra would have made `mine` before the checks
    (["hydra.run.dir=mine", "paths.output_dir=other"], "paths.output_dir=..."),
    (["-m", "hydra.run.dir=mine"], "hydra.sweep.dir=..."),
]


@pytest.mark.parametrize("argv, says", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_ends_with_one_error_line_and_changes_nothing(monkeypatch, capsys, trained, argv, says):
    work = trained.parent
    copy = work / "copy"
    shutil.copytree(trained, copy)
    (work / "a_file").write_text("a file where a folder would go: writing under it fails like a read-only folder\n")
    if "truncate" in argv:
        argv = [a for a in argv if a != "truncate"]
        _truncate(copy / "checkpoints" / "last.ckpt")
    argv = [a.format(run=trained, copy=copy, work=work) for a in argv]
    before = snapshot(work)
    capsys.readouterr()
    quick = [] if any(a.startswith("resume=") for a in argv) else QUICK  # a resume keeps its saved recipe
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, work, *quick, *argv)
    message = str(stop.value)
    assert message.startswith("error: ") and "\n" not in message and says in message, message
    assert "Traceback" not in capsys.readouterr().err
    assert snapshot(work) == before, "a failed start wrote or changed files"


def test_missing_optional_extra_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(gan.run, "_installed", lambda module: False)
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, tmp_path, "-m", "hparams_search=gaussian_optuna")
    assert str(stop.value) == 'error: this command needs the optional `optuna` extra; install it with: pip install -e ".[optuna]"'
    assert not any(tmp_path.iterdir())


def test_saved_config_with_foreign_target_is_refused_everywhere(monkeypatch, trained, tmp_path):
    """A shared run folder whose config.yaml names `builtins.open` must not run it (it emptied a file)."""
    from gan.evaluate import main as evaluate_main
    from gan.sample import main as sample_main

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    config = yaml.safe_load((trained / "config.yaml").read_text())
    config["model"]["generator"] = {"_target_": "builtins.open", "file": str(victim), "mode": "w"}
    (trained / "config.yaml").write_text(yaml.safe_dump(config))
    before = snapshot(trained)
    for command in (lambda: sample_main([str(trained)]), lambda: evaluate_main([str(trained)]),
                    lambda: run_main(monkeypatch, trained.parent, f"resume={trained}", "trainer.max_steps=8")):
        with pytest.raises(SystemExit) as stop:
            command()
        assert str(stop.value).startswith("error: ") and "builtins.open" in str(stop.value)
        assert victim.read_text() == "precious\n" and snapshot(trained) == before


def test_resume_refuses_a_checkpoint_that_needs_code_to_load(monkeypatch, trained):
    """`weights_only`: a checkpoint holding a pickled object is refused before training touches anything."""
    path = trained / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["payload"] = np.float64(1.0)  # needs numpy's unpickler: not weights-only data
    torch.save(checkpoint, path)
    before = snapshot(trained)
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, trained.parent, f"resume={trained}", "trainer.max_steps=8")
    assert "cannot read checkpoint" in str(stop.value) and snapshot(trained) == before


def test_resuming_a_finished_run_says_it_is_complete(monkeypatch, capsys, trained):
    capsys.readouterr()
    run_main(monkeypatch, trained.parent, f"resume={trained}", "trainer.max_steps=4")
    assert "is already complete at training step 4" in capsys.readouterr().err


def test_nan_before_any_checkpoint_says_so(monkeypatch, tmp_path):
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, tmp_path, *QUICK, "data.mean=inf", "trainer.max_steps=3", "paths.output_dir=nan_run")
    message = str(stop.value)
    assert "no checkpoint had been saved yet" in message and "kept" not in message
    assert "bf16" not in message  # an fp32 run: no advice about 16-bit precision


def test_double_ctrl_c_keeps_last_checkpoint_and_prints_resume(monkeypatch, capsys, tmp_path):
    """A second Ctrl-C raises KeyboardInterrupt mid-step: nothing is saved over last.ckpt, and the user is told how to go on."""

    class SecondCtrlC(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if pl_module.training_steps_done == 6:  # after the epoch-end save at step 4
                raise KeyboardInterrupt

    monkeypatch.setattr(gan.run, "_instantiate_all", _with_extra(gan.run._instantiate_all, SecondCtrlC()))
    ctrl_c = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit):
            run_main(monkeypatch, tmp_path, *QUICK, "trainer.max_steps=20", "paths.output_dir=run")
    finally:
        signal.signal(signal.SIGINT, ctrl_c)  # Lightning ignores Ctrl-C from a KeyboardInterrupt on
    err = capsys.readouterr().err
    assert f"Continue with: python -m gan.run resume={tmp_path / 'run'}" in err
    assert torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)["global_step"] == 4 * 2


def _with_extra(instantiate_all, callback):
    def wrapped(group):
        built = instantiate_all(group)
        is_callbacks = any(isinstance(c, pl.Callback) for c in built)
        return [*built, callback] if is_callbacks else built

    return wrapped


def test_16_bit_images_are_scaled_not_clipped(tmp_path):
    gradient = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (64, 1))  # left black, right white
    Image.fromarray(gradient).save(tmp_path / "g16.png")  # a 16-bit greyscale PNG
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    image = load_image(tmp_path / "g16.png", image_size=64, channels=1).float()
    assert (image == 255).float().mean() < 0.05  # clipped, 97 % of pixels were white
    assert abs(image.mean().item() - 127.5) < 3 and image[0, :, 0].max() < 10 and image[0, :, -1].min() > 245
    rgb = load_image(tmp_path / "g16.png", image_size=64, channels=3)  # the same picture, as RGB
    assert torch.equal(rgb[0], rgb[2]) and abs(rgb.float().mean().item() - 127.5) < 3


def test_ctrl_c_during_start_up_is_one_line(monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gan.run, "_build", interrupted)  # while networks and data are being built
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, tmp_path, *QUICK)
    assert str(stop.value).startswith("error: interrupted before any checkpoint was saved")
    monkeypatch.setattr(gan.run, "main", interrupted)  # while Hydra composes the config
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, tmp_path, *QUICK)
    assert str(stop.value) == "error: interrupted during start-up; nothing was written."
    assert not any(tmp_path.iterdir())


def test_decompression_bombs_are_named_with_the_key_that_allows_them(monkeypatch, tmp_path):
    from gan.data.image_folder import ImageFolderDataModule
    from gan.errors import DataError

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after the test
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "big.png")  # 1600 pixels
    with pytest.raises(DataError, match="decompression bomb.*data.max_image_pixels"):
        ImageFolderDataModule(str(tmp_path), image_size=32, max_image_pixels=100).setup()
    ImageFolderDataModule(str(tmp_path), image_size=32, max_image_pixels=None).setup()  # allowed when trusted


def test_sampling_a_checkpoint_of_another_model_is_one_line(monkeypatch, trained, tmp_path):
    from gan.evaluate import main as evaluate_main
    from gan.sample import main as sample_main

    other = tmp_path / "other"
    other.mkdir()
    run_main(monkeypatch, other, *QUICK, "trainer.max_steps=1", "paths.output_dir=run", "model.generator.hidden_sizes=[7,7]")
    shutil.copy(other / "run/checkpoints/last.ckpt", trained / "checkpoints/last.ckpt")
    for command in (sample_main, evaluate_main):
        with pytest.raises(SystemExit) as stop:
            command([str(trained)])
        assert str(stop.value).startswith("error: checkpoint ") and "does not fit this model" in str(stop.value)


def test_gaussian_status_line_counts_training_steps_not_epochs(monkeypatch, capsys, tmp_path):
    """The progress bar counts Lightning epochs; the status line must not call its training steps epochs too."""
    run_main(monkeypatch, tmp_path, *QUICK, "trainer.max_steps=4", "paths.output_dir=run")
    out = capsys.readouterr().out
    assert "Training step 4: D loss" in out and "Epoch 4:" not in out


# Values that ended in a traceback (or a run folder) and now end in one line from the fast checks, before torch.
# {file}: a file where a folder belongs; image-folder runs get a folder of images, MNIST runs the real files.
FAST_VALUE_ERRORS = [
    (["model=vanilla", "data=mnist", "data.batch_size=1.5"], "data.batch_size=1.5: must be a whole number"),
    (["model=vanilla", "data=mnist", "data.batch_size=abc"], "data.batch_size='abc': must be a whole number"),
    (["model=vanilla", "data=mnist", "data.batch_size=0"], "data.batch_size=0"),
    (["model.gradient_penalty=abc"], "model.gradient_penalty='abc': must be a number"),
    (["model.ema_decay=abc"], "model.ema_decay='abc': must be a number"),
    (["model=vanilla", "data=mnist", "model.num_fixed=0"], "model.num_fixed=0"),
    (["trainer.check_val_every_n_epoch=0"], "trainer.check_val_every_n_epoch=0"),
    (["trainer.max_epochs=0"], "trainer.max_epochs=0: give a positive number of epochs"),
    (["threads=abc"], "threads='abc'"),
    (["model=dcgan", "data=image_folder", "model.generator.latent_dim=0"], "model.generator.latent_dim=0"),
    (["trainer.devices=3"], "use trainer=ddp_cpu trainer.devices=3"),
    (["model=vanilla", "data=gaussian"], "data=gaussian goes with model=gaussian"),
    (["model=gaussian", "data=mnist"], "data=mnist goes with an image model"),
    (["data=ring"], "data=ring goes with model=mixture"),
    (["data.sample_size=1"], "data.sample_size=1"),
    (["data.sample_size=abc"], "data.sample_size='abc'"),
    (["data.std=0"], "data.std=0"),
    (["data.std=abc"], "data.std='abc'"),
    (["model=dcgan", "data=image_folder", "data.root={file}"], "is a file, not a folder"),
]


def _bad_value_argv(argv: list[str], tmp_path: Path) -> list[str]:
    from tests.conftest import SHARED_DATA
    from tests.seed_recipes import tiny_image_folder

    argv = [a.format(file=tmp_path / "a_file") for a in argv]
    if "data=image_folder" in argv and not any(a.startswith("data.root=") for a in argv):
        argv.append(f"data.root={tiny_image_folder(tmp_path / 'images', n=2)}")  # the value is wrong, not the data
    quick = ["model.feature_extractor=null"] if any(a in argv for a in ("model=vanilla", "model=dcgan")) else []
    return [*argv, *quick, f"paths.data_dir={SHARED_DATA}", "trainer.max_steps=2", "logger=none"]


# In this process, but not trainer.devices=3: were its check to fail, Lightning would relaunch pytest per rank.
IN_PROCESS = [(argv, says) for argv, says in FAST_VALUE_ERRORS if "trainer.devices=3" not in argv]


@pytest.mark.parametrize("argv, says", IN_PROCESS, ids=[" ".join(a) for a, _ in IN_PROCESS])
def test_a_bad_value_is_one_line_and_makes_no_run_folder(monkeypatch, capsys, tmp_path, argv, says):
    (tmp_path / "a_file").write_text("a file where a folder would go\n")
    argv = _bad_value_argv(argv, tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, tmp_path, *argv)
    message = str(stop.value)
    assert message.startswith("error: ") and "\n" not in message and says in message, message
    assert "Traceback" not in capsys.readouterr().err
    assert snapshot(tmp_path) == before, "a failed start wrote files"


FAST_CHECKS_PROBE = """
import json, sys
from pathlib import Path
from tests.conftest import compose_config
from gan.validate.config import check_run_keys
from gan.errors import GanError
from gan.validate.preflight import preflight

seen = []
for argv in json.loads(sys.argv[1]):
    cfg = compose_config(argv, Path(sys.argv[2]) / "run")
    try:
        check_run_keys(cfg)  # what gan.run.train checks first, then preflight's torch-free part
        preflight(cfg)
        seen.append([None, "torch" in sys.modules])
    except GanError as error:
        seen.append([str(error), "torch" in sys.modules])
print("PROBE " + json.dumps(seen))
"""


def test_bad_values_are_caught_before_torch_is_imported(tmp_path):
    """The README's promise of an answer in about a second: none of these waits for torch's import."""
    (tmp_path / "a_file").write_text("a file where a folder would go\n")
    cases = [_bad_value_argv(argv, tmp_path) for argv, _ in FAST_VALUE_ERRORS]
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", FAST_CHECKS_PROBE, json.dumps(cases), str(tmp_path)], cwd=repo,
                          env={**os.environ, "PYTHONPATH": str(repo)}, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert lines, done.stderr[-2000:]
    for (argv, says), (message, torch_imported) in zip(FAST_VALUE_ERRORS, json.loads(lines[-1][6:])):
        assert message is not None and says in message and not torch_imported, (argv, message, torch_imported)


def test_a_sweep_keeps_its_summary_when_a_job_fails(monkeypatch, capsys, tmp_path):
    """A job's bad value, or a failure no check foresaw, is that job's `error:` row; the others run, the summary
    is written."""
    real_fit = gan.run._fit

    def fit_failing_for_seed_3(cfg, *args, **kwargs):
        if cfg.seed == 3:
            raise RuntimeError("something no check foresaw\nsecond line")
        return real_fit(cfg, *args, **kwargs)

    monkeypatch.setattr(gan.run, "_fit", fit_failing_for_seed_3)
    run_main(monkeypatch, tmp_path, "-m", "trainer.check_val_every_n_epoch=0,1", "seed=1,3", *QUICK,
             "trainer.max_steps=2", "hydra.sweep.dir=sweep")
    with (tmp_path / "sweep" / "summary.csv").open() as f:
        rows = {row["overrides"]: row["status"] for row in csv.DictReader(f)}
    assert len(rows) == 4, rows
    for overrides, status in rows.items():
        if "check_val_every_n_epoch=0" in overrides:
            assert status.startswith("error: trainer.check_val_every_n_epoch=0: "), status
        elif "seed=3" in overrides:
            assert status.startswith("error: RuntimeError: something no check foresaw (traceback in "), status
            assert "something no check foresaw" in Path(status.split("traceback in ")[1].rstrip(")")).read_text()
        else:
            assert status == "ok", status
    assert "Sweep summary" in capsys.readouterr().out


IMAGE_MODELS = {"vanilla", "dcgan", "cgan", "infogan"}
IMAGE_DATA = {"mnist", "fashion_mnist", "image_folder", "tomjerry"}
FITTING = {("gaussian", "gaussian"), ("mixture", "ring"), ("mixture", "grid"),
           *((model, data) for model in IMAGE_MODELS for data in IMAGE_DATA)}


def test_every_model_and_data_pair_fits_or_says_which_fit(make_cfg, monkeypatch, tmp_path):
    import gan.validate.config
    from gan.errors import ConfigError
    from tests.conftest import config_options

    models, data_options = config_options("model"), config_options("data")
    assert set(models) == IMAGE_MODELS | {"gaussian", "mixture"}
    assert set(data_options) == IMAGE_DATA | {"gaussian", "ring", "grid"}
    # Composed once each; a pair is a model's config with another option's data node (the shapes come from it).
    data_nodes = {data: make_cfg(f"data={data}", data_dir=tmp_path).data for data in data_options}
    for model in models:
        base = make_cfg(f"model={model}", data_dir=tmp_path)
        for data, node in data_nodes.items():
            cfg = base.copy()
            with open_dict(cfg):
                cfg.data = node
            choices = {"model": f"model={model}", "data": f"data={data}"}
            monkeypatch.setattr(gan.validate.config, "_choices", lambda cfg: choices)
            if (model, data) in FITTING:
                gan.validate.config.check_model_fits_data(cfg)
                continue
            with pytest.raises(ConfigError) as error:
                gan.validate.config.check_model_fits_data(cfg)
            assert str(error.value).startswith(f"model={model} does not fit data={data}: data={data} goes with ")


def test_help_lists_our_groups_shared_keys_and_examples(monkeypatch, capsys, tmp_path):
    from tests.conftest import config_options

    try:
        run_main(monkeypatch, tmp_path, "--help")
    except SystemExit as stop:
        assert not stop.code
    out = capsys.readouterr().out
    assert "Powered by Hydra" not in out and "python -m gan.run experiment=mnist_best" in out
    for group in ("model", "data", "experiment", "logger"):
        assert f"{group}: {', '.join(config_options(group))}" in out or group == "model", group
    assert f"model: _gan, {', '.join(config_options('model'))}" in out  # _gan: the base every model starts from
    assert "trainer: cpu, cpu_bf16, ddp, ddp_cpu" in out
    for key in ("seed=N", "paths.data_dir", "model.g_lr", "model.d_steps", "trainer.max_steps", "trainer.max_time"):
        assert key in out, key
    assert not any(tmp_path.iterdir())


def test_max_time_is_a_listed_trainer_key_passed_to_lightning(make_cfg):
    import hydra
    from pytorch_lightning.callbacks import Timer

    assert make_cfg().trainer.max_time is None  # listed: no `+` needed to set it
    trainer = hydra.utils.instantiate(make_cfg("trainer.max_time=00:00:05:00").trainer, logger=False)
    (timer,) = [c for c in trainer.callbacks if isinstance(c, Timer)]
    assert timer._duration == 300


def test_vanilla_writes_its_16_fixed_images_as_one_4_by_4_grid(make_cfg, tmp_path):
    """conf/model/vanilla.yaml: `num_fixed: 16  # ... one 4 x 4 grid`; 8 a row made it 8 x 2."""
    from types import SimpleNamespace

    import hydra

    from gan.models.image import ImageGAN
    from gan.networks.mlp import MLPDiscriminator, MLPGenerator

    cfg = make_cfg("model=vanilla", "data=mnist")
    model = ImageGAN(MLPGenerator(4, 1, 28, [8]), MLPDiscriminator(1, 28, [8]), torch.optim.Adam, torch.optim.Adam,
                     g_lr=1e-3, d_lr=1e-3, latent_shape=[4], num_fixed=cfg.model.num_fixed, feature_extractor=None)
    grid = hydra.utils.instantiate(cfg.callbacks.sample_grid)
    path = grid.save(SimpleNamespace(default_root_dir=str(tmp_path), loggers=[]), model, index=1, tb_step=0)
    with Image.open(path) as picture:
        assert picture.size == (4 * 30 + 2, 4 * 30 + 2)  # 4 columns and 4 rows of 28 px, 2 px apart


def test_a_labelled_folder_is_not_called_unlabelled(tmp_path):
    from gan.evaluation import ImageEvaluator

    data = {"_target_": "gan.data.image_folder.ImageFolderDataModule", "root": str(tmp_path), "labels": "folders",
            "num_classes": 2, "image_size": 32, "channels": 3}
    _, not_measured = ImageEvaluator(data, feature_extractor=str(tmp_path / "unlabelled-classifier.pt")).describe()
    assert not any("unlabelled" in line for line in not_measured), not_measured
    assert any("has 0 images, fewer than the 100" in line for line in not_measured), not_measured  # an empty folder
