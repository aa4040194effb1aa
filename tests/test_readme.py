"""Every command in the README is exercised: the two set-up commands by CI, the rest here."""

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from gan.run import train
from tests.conftest import REPO, SHARED_DATA

README = (REPO / "README.md").read_text()


def _bash_blocks(section: str) -> list[str]:
    """Command lines in the ```bash blocks of the README section titled `section`."""
    body = re.split(r"^## ", README, flags=re.M)
    text = next(part for part in body if part.startswith(section))
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        lines += [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines() if line.strip()]
    return lines


def test_ci_runs_the_readme_setup_commands_verbatim():
    ci = (REPO / ".ci" / "run").read_text()
    for section in ("Quick start", "Tests"):
        (command,) = _bash_blocks(section)
        assert command in ci.splitlines(), f"README's {section} command is not what .ci/run runs"
    assert _bash_blocks("Tests")[0].endswith("pytest")


def test_quick_start_job_runs_and_writes_metrics(tmp_path):
    """The Quick start's job, as a subprocess from a fresh folder, with a small epoch count."""
    (command,) = _bash_blocks("Quick start")
    job = command.split("&&")[-1].strip()
    assert job == "python -m gan.run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, *shlex.split(job)[1:], "trainer.max_epochs=1", "data.steps_per_epoch=20"]
    result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (metrics,) = tmp_path.glob("outputs/runs/gaussian-gaussian/*/metrics.json")
    assert {"gen_mean", "gen_std", "gen_skew", "gen_kurtosis", "train_time_s"} <= json.loads(metrics.read_text()).keys()


RUN_COMMANDS = [line for line in _bash_blocks("Running") if line.startswith("python -m gan.run")]


@pytest.mark.parametrize("command", RUN_COMMANDS)
def test_running_section_commands(command, make_cfg, tmp_path):
    """Each `python -m gan.run ...` line of the README composes and trains (fast_dev_run, in process)."""
    overrides = shlex.split(command)[3:]
    if "data=mnist" in overrides and not (SHARED_DATA / "MNIST" / "raw").is_dir():
        pytest.skip(f"MNIST not found under {SHARED_DATA}")
    cfg = make_cfg(*overrides, "trainer.fast_dev_run=true", "logger=none")
    if "data=tomjerry" in overrides:  # no frames ship with the repo: the run must say where to get them
        with pytest.raises(Exception, match="tomjerry"):
            train(cfg)
        return
    train(cfg)
    assert (tmp_path / "run" / "metrics.json").is_file()
