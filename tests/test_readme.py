"""Every command in the README runs as a user types it: the two set-up commands by CI, all the others here.

`test_readme_commands_as_written` copies the checkout to a temporary folder (beside a link to ../shared, as
the checkout has it), puts MNIST where the README says (`data/MNIST/raw`), and runs each command of the README
in order, from that copy, through the shell. The only changes are appended overrides that shorten training
(`trainer.max_steps=...`; the cache starts with a small MNIST classifier where the default one goes, as a user's
would hold one after a first run, so the README's `gan.features` finds it there) and the README's
placeholders (`<date>_<time>`, `<run>`, `/path/to/images`) filled with folders that earlier commands made.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gan.run import _installed
from tests.conftest import REPO, SHARED_DATA
from tests.test_dcgan import make_image_folder

README = (REPO / "README.md").read_text()
SETUP_SECTIONS = ("Quick start", "Tests")  # run verbatim by .ci/run
# Data the README tells users to provide that the tests do not have: these commands must stop with one line.
ABSENT_DATA = {"data=tomjerry": "tomjerry", "experiment=dcgan_seed": "tomjerry", "data=fashion_mnist": "FashionMNIST"}


def _sections() -> dict[str, str]:
    return {part.split("\n", 1)[0].strip(): part for part in re.split(r"^## ", README, flags=re.M)[1:]}


def bash_lines(text: str) -> list[str]:
    """Command lines of the ```bash blocks in `text`, without trailing comments."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        lines += [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines() if line.strip()]
    return lines


def readme_commands() -> list[str]:
    return [line for title, body in _sections().items() if not title.startswith(SETUP_SECTIONS) for line in bash_lines(body)]


def test_ci_runs_the_readme_setup_commands_verbatim():
    ci = (REPO / ".ci" / "run").read_text()
    sections = _sections()
    for section in SETUP_SECTIONS:
        (title,) = [t for t in sections if t.startswith(section)]
        (command,) = bash_lines(sections[title])
        assert command in ci.splitlines(), f"README's {section} command is not what .ci/run runs"
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e ")
    (title,) = [t for t in sections if t.startswith("Tests")]
    assert bash_lines(sections[title])[0].endswith("&& pytest")


def test_every_readme_command_is_understood():
    """The runner below knows every kind of README command, so none is silently left out."""
    known = ("python -m gan.", "tensorboard --logdir ", 'pip install -e ".[')
    assert readme_commands() and all(line.startswith(known) for line in readme_commands()), readme_commands()


class Checkout:
    """A copy of the working tree in a fresh folder, and how to run a README line in it."""

    def __init__(self, root: Path) -> None:
        self.root = root / "checkout"
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout.split("\n")
        for name in filter(None, files):
            if (REPO / name).is_file():
                (self.root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, self.root / name)
        (root / "shared").symlink_to(REPO.parent / "shared")  # ../shared/data, as beside the real checkout
        (self.root / "data" / "MNIST").mkdir(parents=True)  # where the README says to put MNIST
        (self.root / "data" / "MNIST" / "raw").symlink_to(SHARED_DATA / "MNIST" / "raw")
        self.images = make_image_folder(root / "images")
        self.env = {k: v for k, v in os.environ.items() if k not in ("GAN_DATA_DIR", "PYTHONPATH")}
        self.env.update(GAN_CACHE_DIR=str(root / "cache"), PATH=f"{Path(sys.executable).parent}:{self.env['PATH']}")
        self.steps = 2
        # A user who has trained on MNIST before has the classifier behind FID in the cache: a small one here, put
        # where the default one goes, its lower accuracy bar on record (the README's `gan.features` then finds it).
        shared = root / "cache" / "features" / "mnist-classifier.pt"
        built = self.run(f"python -m gan.features data=mnist max_samples=2000 epochs=1 min_accuracy=0.5 output={shared}")
        assert built.returncode == 0, built.stderr[-2000:]

    def newest(self, pattern: str) -> str:
        found = sorted(self.root.glob(pattern), key=lambda p: p.stat().st_mtime)
        assert found, f"no folder {pattern} for a README placeholder: an earlier command should have made it"
        return str(found[-1].relative_to(self.root))

    def fill(self, line: str) -> str:
        """The README's placeholders, filled with what earlier commands made."""
        line = re.sub(r"outputs/runs/([\w-]+)/<date>_<time>", lambda m: self.newest(f"outputs/runs/{m.group(1)}/*"), line)
        line = line.replace("<run>", self.newest("outputs/runs/*/*") if "<run>" in line else "")
        return line.replace("/path/to/images", str(self.images))

    def shorten(self, line: str) -> str:
        """Append what keeps the command short; nothing else changes."""
        if line.startswith("python -m gan.run"):
            if "resume=" in line:
                self.steps += 2  # each resume of a run trains a little further than the one before
            return f"{line} trainer.max_steps={self.steps if 'resume=' in line else 2}"
        return line

    def run(self, line: str) -> subprocess.CompletedProcess:
        start = time.perf_counter()
        result = subprocess.run(line, shell=True, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=600)
        print(f"{time.perf_counter() - start:6.1f} s  {line}")  # shown with -s or on failure
        return result

    def tensorboard(self, line: str) -> str:
        """Starts the server as written, waits until it says where it serves, stops it; returns what it said."""
        process = subprocess.Popen(shlex.split(line), cwd=self.root, env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        said, deadline = "", time.monotonic() + 120
        try:
            while time.monotonic() < deadline and "http://" not in said and process.poll() is None:
                said += process.stdout.readline()
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        return said


@pytest.mark.slow
def test_readme_commands_as_written(tmp_path):
    checkout = Checkout(tmp_path)
    failures = []
    for line in readme_commands():
        command = checkout.shorten(checkout.fill(line))
        if command.startswith("tensorboard"):
            said = checkout.tensorboard(command)
            if "http://" not in said:
                failures.append(f"{line}\n  said: {said[-800:]}")
            continue
        if command.startswith('pip install -e ".[optuna]" && ') and not _installed("hydra_plugins.hydra_optuna_sweeper"):
            # The extra is not installed here: the command after `&&` must say how to install it, in one line.
            result = checkout.run(command.split(" && ", 1)[1])
            last = result.stderr.strip().splitlines()[-1:] or [""]
            if result.returncode == 0 or not last[0].startswith("error:") or '".[optuna]"' not in last[0]:
                failures.append(f"{line}\n  without the extra: {result.stderr[-800:]}")
            continue
        result = checkout.run(command)
        absent = [folder for key, folder in ABSENT_DATA.items() if key in line.split()]
        if absent:  # data the README asks users to provide: one error line naming it, no traceback
            last = result.stderr.strip().splitlines()[-1:] or [""]
            if result.returncode == 0 or not last[0].startswith("error:") or absent[0] not in last[0] or "Traceback" in result.stderr:
                failures.append(f"{line}\n  expected one error line naming {absent[0]}: {result.stderr[-800:]}")
        elif result.returncode != 0:
            failures.append(f"{command}\n  exit {result.returncode}: {result.stderr[-1500:]}")
    assert not failures, "README commands that failed as written:\n" + "\n".join(failures)
    # The sweeps ran as written: grouped by model and data, one folder per job, and a summary each.
    sweeps = sorted((checkout.root / "outputs" / "multirun" / "gaussian-gaussian").iterdir())
    assert sorted(len([p for p in sweep.iterdir() if p.is_dir()]) for sweep in sweeps) == [2, 4]
    assert all((sweep / "summary.csv").is_file() for sweep in sweeps)
