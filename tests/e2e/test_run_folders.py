"""Run folders as users meet them: one folder per run, a copy that resumes anywhere, a finished run left alone,
resume commands that paste, the run's own choices said again, and what a run and a resume print."""

import datetime
import json
import logging
import shlex
import shutil
import signal
import warnings

import hydra.core.utils
import pytest
import pytorch_lightning as pl
import torch
import yaml
from omegaconf import OmegaConf

import gan.run
from gan.callbacks.safety import _say_what_is_kept
from gan.resume import override_value
from tests.conftest import SHARED_DATA
from tests.e2e.test_user_errors import QUICK, run_main, snapshot
from tests.unit.test_run_folders import AWKWARD


def steps_in(run_dir) -> int:
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    hparams = checkpoint["hyper_parameters"]
    return checkpoint["global_step"] // (hparams["d_steps"] + hparams["g_steps"])


@pytest.fixture
def finished(monkeypatch, tmp_path):
    """A finished 4-step Gaussian run with TensorBoard logs, in `<tmp>/work/done`."""
    work = tmp_path / "work"
    work.mkdir()
    run_main(monkeypatch, work, *QUICK, "logger=tensorboard", "trainer.max_steps=4", "paths.output_dir=done")
    return work / "done"


def test_runs_started_in_the_same_second_get_their_own_folders(monkeypatch, tmp_path):
    class SameSecond(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 1, 2, 3, 4, 5)

    monkeypatch.setattr(hydra.core.utils, "datetime", SameSecond)  # what Hydra's ${now:...} reads
    cwd = tmp_path / AWKWARD
    cwd.mkdir(parents=True)
    for seed in (1, 2):
        run_main(monkeypatch, cwd, *QUICK, "trainer.max_steps=1", f"seed={seed}")
    runs = cwd / "outputs/runs/gaussian-gaussian"
    names = sorted(p.name for p in runs.iterdir())
    assert names == ["2026-01-02_03-04-05", "2026-01-02_03-04-05_2"]
    for seed, name in zip((1, 2), names, strict=True):
        saved = yaml.safe_load((runs / name / "config.yaml").read_text())
        assert saved["seed"] == seed and saved["paths"]["output_dir"] == str(runs / name)
        assert (runs / name / "metrics.json").is_file() and steps_in(runs / name) == 1

    # A failed start in a taken name leaves no `_3` behind; a further DDP rank, handed the first rank's folder as
    # `paths.output_dir=` (quoted for Hydra), writes into that folder.
    before = snapshot(cwd)
    with pytest.raises(SystemExit, match="does not fit this model"):
        run_main(monkeypatch, cwd, *QUICK, f"ckpt_path={override_value(runs / names[0] / 'checkpoints/last.ckpt')}",
                 "model.generator.hidden_sizes=[7,7]")
    assert set(snapshot(cwd)) == set(before)
    run_main(monkeypatch, cwd, *QUICK, "trainer.max_steps=2", f"paths.output_dir={override_value(runs / names[1])}")
    assert sorted(p.name for p in runs.iterdir()) == names and steps_in(runs / names[1]) == 2


@pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason="needs the real MNIST in shared/data")
def test_a_copied_mnist_run_resumes_from_another_folder(monkeypatch, tmp_path):
    """The saved recipe reads data/ relative to where the run started; a copy resumed elsewhere still finds it,
    and once it is gone `paths.data_dir=` or `$GAN_DATA_DIR` say where it is now."""
    monkeypatch.delenv("GAN_DATA_DIR", raising=False)
    first, elsewhere = tmp_path / "first", tmp_path / "elsewhere"
    first.mkdir(), elsewhere.mkdir()
    (first / "data").symlink_to(SHARED_DATA)  # the default paths.data_dir, `data`, relative to the first cwd
    run_main(monkeypatch, first, "model=vanilla", "data=mnist", "eval.feature_extractor=null", "logger=none",
             "trainer.max_steps=2", "paths.output_dir=run")
    copy = tmp_path / "copy"
    shutil.copytree(first / "run", copy)
    run_main(monkeypatch, elsewhere, f"resume={copy}", "trainer.max_steps=3")
    assert steps_in(copy) == 3

    (first / "data").unlink()
    with pytest.raises(SystemExit, match="mnist files missing"):
        run_main(monkeypatch, elsewhere, f"resume={copy}", "trainer.max_steps=4")
    run_main(monkeypatch, elsewhere, f"resume={copy}", "trainer.max_steps=4", f"paths.data_dir={SHARED_DATA}")
    assert steps_in(copy) == 4
    monkeypatch.setenv("GAN_DATA_DIR", str(SHARED_DATA))
    run_main(monkeypatch, elsewhere, f"resume={copy}", "trainer.max_steps=5", "eval.nearest_k=3")
    assert steps_in(copy) == 5 and steps_in(first / "run") == 2
    saved = yaml.safe_load((copy / "config.yaml").read_text())
    assert saved["eval"]["nearest_k"] == saved["model"]["evaluation"]["nearest_k"] == 3  # eval.* reach the model
    assert saved["data"]["data_dir"] == saved["paths"]["data_dir"] == str(SHARED_DATA)
    assert saved["callbacks"]["sample_quality"]["data"]["data_dir"] == str(SHARED_DATA)


def test_resuming_a_finished_run_leaves_its_results_alone(monkeypatch, capsys, make_cfg, finished):
    saved = json.loads((finished / "metrics.json").read_text())
    before = snapshot(finished)
    capsys.readouterr()
    run_main(monkeypatch, finished.parent, f"resume={finished}", "trainer.max_steps=4")
    assert snapshot(finished) == before  # metrics.json as it was, no new event file, config or .hydra record
    printed = capsys.readouterr()
    assert "is already complete at training step 4" in printed.err and "left as they were" in printed.err
    assert f"w1 {saved['w1']:.4g}" in printed.out and f"ks {saved['ks']:.4g}" in printed.out
    assert gan.run.train(make_cfg(f"resume={finished}", "trainer.max_steps=4")) == saved  # what sweeps and tests get
    assert snapshot(finished) == before


def test_the_printed_resume_command_continues_a_run_in_an_awkward_folder(monkeypatch, capsys, tmp_path):
    run_dir = tmp_path / AWKWARD
    run_main(monkeypatch, tmp_path, *QUICK, "trainer.max_steps=4", f"paths.output_dir={override_value(run_dir)}")
    last = run_dir / "checkpoints" / "last.ckpt"
    capsys.readouterr()
    _say_what_is_kept(last)  # after a second Ctrl-C
    from_callback = capsys.readouterr().err.split("Continue with: ")[1].strip()
    from_run = gan.run._interrupted(OmegaConf.create({"resume": None, "paths": {"output_dir": str(run_dir)}}))
    assert from_run.endswith(f"Continue with: {from_callback}")
    run_main(monkeypatch, tmp_path / AWKWARD, *shlex.split(from_callback)[3:], "trainer.max_steps=6")
    assert steps_in(run_dir) == 6


def test_resume_accepts_the_runs_own_group_choices_only(monkeypatch, finished):
    before = snapshot(finished.parent)
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, finished.parent, f"resume={finished}", "model=mixture", "data=gaussian")
    assert str(stop.value).startswith("error: resume= continues the saved recipe") and "`model=...`" in str(stop.value)
    assert snapshot(finished.parent) == before
    run_main(monkeypatch, finished.parent, f"resume={finished}", "model=gaussian", "data=gaussian",
             "trainer.max_steps=6")
    assert steps_in(finished) == 6


@pytest.mark.parametrize("logger", ["csv", "none"])
def test_no_tensorboard_command_without_a_tensorboard_logger(monkeypatch, capsys, tmp_path, logger):
    run_main(monkeypatch, tmp_path, *QUICK, f"logger={logger}", "trainer.max_steps=1", "paths.output_dir=run")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"Results in {tmp_path / 'run'}: metrics.json"


def test_resuming_a_moved_run_drops_only_lightnings_resume_noise(monkeypatch, finished):
    moved = finished.parent / "moved"
    finished.rename(moved)

    class _Warns(pl.Callback):  # stands for a warning about the user's own run, raised during the resumed fit
        def on_train_start(self, trainer, pl_module) -> None:
            warnings.warn("a warning about this run")

    real = gan.run._instantiate_all
    monkeypatch.setattr(gan.run, "_instantiate_all",
                        lambda group: real(group) + ([_Warns()] if group and "graceful_stop" in group else []))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_main(monkeypatch, moved.parent, "resume=moved", "trainer.max_steps=6")
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "exists and is not empty" in m or "dirpath has changed" in m], messages
    assert "a warning about this run" in messages  # every other warning still shows
    assert steps_in(moved) == 6


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_signal_stop_saves_without_lightnings_weights_only_notice(monkeypatch, tmp_path):
    """GracefulStop's save says what it writes (a full checkpoint); Lightning logs its default otherwise."""
    from tests.e2e.test_resume import SMALL, _SignalAt

    real = gan.run._instantiate_all
    stop = _SignalAt(signal.SIGTERM, 3)
    monkeypatch.setattr(gan.run, "_instantiate_all",
                        lambda group: real(group) + ([stop] if group and "graceful_stop" in group else []))
    records = _Records()
    logger = logging.getLogger("pytorch_lightning.trainer.connectors.checkpoint_connector")
    logger.addHandler(records)
    try:
        with pytest.raises(SystemExit):
            run_main(monkeypatch, tmp_path, *SMALL, "logger=none", "trainer.max_epochs=100", "paths.output_dir=run")
    finally:
        logger.removeHandler(records)
    assert steps_in(tmp_path / "run") == 3
    assert not [m for m in records.messages if "weights_only" in m], records.messages
