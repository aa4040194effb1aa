"""trainer=ddp_cpu: DDP with 2 CPU processes over gloo, run as users run it (Lightning re-launches the command)."""

import json
import os
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO
from tests.e2e.test_resume import SMALL

# SMALL has 2 D + 2 G updates per training step; 10 steps per epoch split over 2 ranks: 5 per rank and epoch.
DDP = [*SMALL, "trainer=ddp_cpu", "data.steps_per_epoch=10", "++trainer.enable_progress_bar=false"]


def run(*overrides: str, cwd=REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "gan.run", *overrides], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_trains_checkpoints_and_resumes(tmp_path):
    """Both ranks train the alternating update (toggle_optimizer + find_unused_parameters), steps are training
    steps, rank 0 writes the checkpoint and metrics, and `resume=` continues under DDP to the new limit."""
    run(*DDP, "trainer.max_steps=7", cwd=tmp_path)  # stops mid-epoch (5 steps per rank and epoch)
    (run_dir,) = (tmp_path / "outputs" / "runs").glob("*/*")  # the re-launched rank wrote into the same folder
    checkpoint = torch.load(run_dir / "checkpoints/last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["global_step"] == 7 * 4 and checkpoint["epoch"] == 1
    assert json.loads((run_dir / "metrics.json").read_text())["training_steps"] == 7
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values() if t.is_floating_point())

    run(f"resume={run_dir}", "trainer.max_steps=12")
    resumed = torch.load(run_dir / "checkpoints/last.ckpt", map_location="cpu", weights_only=True)
    assert resumed["global_step"] == 12 * 4
    assert json.loads((run_dir / "metrics.json").read_text())["training_steps"] == 12
    assert not torch.equal(resumed["state_dict"]["generator.net.0.weight"], checkpoint["state_dict"]["generator.net.0.weight"])
