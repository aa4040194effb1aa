"""What a run prints: no advertisements or library deprecations, the user's own warnings, and where results went."""

import os
import subprocess
import sys

from tests.conftest import REPO


def test_a_run_is_quiet_and_ends_by_naming_its_folder(tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "gan.run", "trainer.max_epochs=1", "data.steps_per_epoch=3", "data.sample_size=50",
               "logger=tensorboard", f"paths.output_dir={run_dir}"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout + result.stderr
    assert "litlogger" not in printed and "LeafSpec" not in printed
    assert "smaller than the logging interval" in printed  # a warning about this run's own settings stays
    last = result.stdout.strip().splitlines()[-1]
    assert str(run_dir) in last and "metrics.json" in last and f"tensorboard --logdir {run_dir}" in last
    assert (run_dir / "metrics.json").is_file()
