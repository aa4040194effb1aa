"""The whole run's time: one estimate line after the first steps (with trainer=gpu when a CPU run takes hours)
and the run's ETA in the epoch lines."""

import re

import pytest

from gan.callbacks.progress import RunTime, duration, estimate_line
from tests.conftest import compose_config
from tests.seed_recipes import tiny_image_folder
from tests.test_console import SMALL_FOLDER, _run_capturing


def test_the_estimate_says_hours_on_the_cpu_and_the_gpu_alternative():
    line, slow = estimate_line(total=6000, done=0, rate=0.5, device="cpu")
    assert slow and line == "this run: ~3 h 20 min on this CPU (6,000 steps at 0.5 steps/s); on a GPU: add trainer=gpu"
    line, slow = estimate_line(total=6000, done=0, rate=0.5, device="cuda")
    assert not slow and line == "this run: ~3 h 20 min on this CUDA (6,000 steps at 0.5 steps/s)"
    line, slow = estimate_line(total=6000, done=5000, rate=2.0, device="cpu")  # a resumed run: what is left
    assert not slow and line == "this run: ~8 min on this CPU (1,000 steps at 2 steps/s)"
    assert "no step or epoch limit" in estimate_line(float("inf"), 0, 3.0, "cpu")[0]
    assert [duration(s) for s in (0.2, 40, 90, 3600, 3 * 3600 + 600)] == ["1 s", "40 s", "2 min", "1 h", "3 h 10 min"]


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
