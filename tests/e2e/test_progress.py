"""The whole run's time: one estimate line after the first steps (with trainer=gpu when a CPU run takes hours)
and the run's ETA in the epoch lines."""

import re

import pytest

from gan.callbacks.progress import RunTime
from tests.conftest import compose_config
from tests.e2e.test_console import SMALL_FOLDER, _run_capturing
from tests.seed_recipes import tiny_image_folder


@pytest.mark.slow
def test_a_run_announces_its_time_and_shows_its_eta(tmp_path, monkeypatch):
    monkeypatch.setattr(RunTime, "HOURS_ON_CPU", 0.0)  # any CPU run counts as long: the GPU advice is shown
    images = tiny_image_folder(tmp_path / "images", n=16)
    cfg = compose_config([*SMALL_FOLDER, f"data.root={images}", "callbacks.run_time.measure_steps=3"], tmp_path / "run")
    done = _run_capturing(cfg)
    lines = [r.getMessage() for r in done.records if r.getMessage().startswith("this run:")]
    assert len(lines) == 1, [r.getMessage() for r in done.records]
    assert re.fullmatch(r"this run: ~\d+ s on this CPU \(8 steps at [\d.]+ steps/s\); on a GPU: add trainer=gpu",
                        lines[0])  # 2 epochs of 4 batches
    epochs = [line for line in done.stdout.splitlines() if line.startswith("Epoch")]
    assert len(epochs) == 2 and all(re.search(r", run ETA \d+:\d\d:\d\d;", line) for line in epochs), done.stdout
    assert ", run ETA 0:00:00;" in epochs[-1]  # nothing left at the end
