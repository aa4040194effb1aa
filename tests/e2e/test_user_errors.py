"""What a user can get wrong: each mistake ends with one `error:` line, creates nothing and loses nothing saved.

Also: run folders are self-contained (a moved run resumes into itself), the sweep as users type it, saved configs
that would run foreign code, and the messages of stops (NaN, double Ctrl-C, a finished run).
"""

import csv
import shutil
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import yaml
from hydra.core.global_hydra import GlobalHydra

import gan.run
from tests.conftest import SHARED_DATA
from tests.unit.test_user_errors import FAST_VALUE_ERRORS, _bad_value_argv

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


def test_a_classifier_below_its_bar_stops_the_run_before_its_folder_exists(monkeypatch, capsys, tmp_path):
    """Built at start (too few images and epochs for the bar): one error line, no run folder, no classifier file."""
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "cache"))
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, tmp_path, "model=vanilla", "data=mnist", f"paths.data_dir={SHARED_DATA}", "logger=none",
                 "trainer.max_steps=1", "eval.feature_build.max_samples=200", "eval.feature_build.epochs=1",
                 "+eval.feature_build.min_accuracy=0.99")
    message = str(stop.value)
    assert message.startswith("error: the feature classifier reached test accuracy") and "\n" not in message, message
    assert "eval.feature_extractor=null" in message  # how to train without these figures
    assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "outputs").exists(), "a failed start made a run folder"
    assert not list((tmp_path / "cache").rglob("*.pt"))
    new = set(snapshot(tmp_path)) - set(before)
    assert {name for name in new if not name.endswith(".lock")} <= {"cache", "cache/features"}, new  # builders' lock


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
    # _gan: the keys the models start from (Hydra lists it; model=_gan is refused in one line)
    assert f"model: _gan, {', '.join(config_options('model'))}" in out
    assert "trainer: cpu, cpu_bf16, ddp, ddp_cpu" in out
    for key in ("seed=N", "paths.data_dir", "model.g_lr", "model.d_steps", "trainer.max_steps", "trainer.max_time"):
        assert key in out, key
    assert not any(tmp_path.iterdir())
