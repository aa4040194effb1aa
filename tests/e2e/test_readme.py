"""Every command of the README and of the guide and results pages in docs/ runs as a user types it.

A command is a line of a ```bash block, its trailing `# comment` dropped; blocks of any other kind are not run (what
needs a GPU, a cluster or the network goes there). The README's two set-up commands (Quick start, Tests) are what
.ci/run runs, verbatim. All other lines run in order, page by page, in one workspace: a fresh folder with MNIST in
`data/MNIST/raw`, where the README says to put it, and a cache that already holds a small MNIST classifier where
the default one goes, as a user's would after a first run. The only changes to a line are appended overrides that
shorten it (`trainer.max_steps=...`, fewer evaluation samples, a shorter rejection-sampling fit, where the recipe
has them) and its placeholders (`<date>_<time>`, `<run>`, `/path/to/images`, `/path/to/classes`) filled with
folders that earlier lines made. The first line of each entry point (`python -m gan.run`, `gan.sample`, ...) runs
through the shell; the others call the same `main` with the same words in this process, which saves a start-up of
torch and Lightning per line. A line the workspace has already run is not run again. Benchmark and pytest lines
are not run: the files they name must exist. An `$ command` / `error: ...` example prints exactly that line.
"""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from gan.run import _installed
from tests.conftest import CONF, REPO, SHARED_DATA
from tests.seed_recipes import tiny_image_folder
from tests.unit.test_conditional import make_class_folders
from tests.unit.test_dcgan import make_image_folder
from tests.unit.test_readme import KINDS, PAGES, error_examples, page_commands

# Data the docs tell users to provide that the tests do not have: these commands must stop with one line naming it.
ABSENT_DATA = {"data=tomjerry": "tomjerry", "experiment=dcgan_seed": "tomjerry", "data=fashion_mnist": "FashionMNIST"}
# Appended where the composed recipe has the key and a larger value: fewer images behind the end-of-run figures,
# a shorter fit of the 2-D mixtures' rejection critic.
SHORTER = {"model.eval_samples": 200, "model.drs_steps": 20}


def _named_file(line: str) -> Path:
    """The benchmark script or test file a documented line runs."""
    words = shlex.split(line)
    if words[:2] == ["python", "-m"]:
        return REPO / (words[2].replace(".", "/") + ".py")
    return REPO / next(word for word in words if word.startswith(("benchmarks/", "tests/")))


class Workspace:
    """The folder a user would type the commands in, and how to run one line there."""

    def __init__(self, root: Path, monkeypatch) -> None:
        self.root = root / "workspace"
        (self.root / "data" / "MNIST").mkdir(parents=True)  # where the README says to put MNIST
        (self.root / "data" / "MNIST" / "raw").symlink_to(SHARED_DATA / "MNIST" / "raw")
        self.images = make_image_folder(root / "images")  # two sub-folders: data.labels=folders finds 2 classes
        self.classes = make_class_folders(root / "classes")  # 3 classes
        # Error examples run where the Tom & Jerry frames are there: missing data would be reported first.
        self.errors = root / "errors"
        tiny_image_folder(self.errors / "data" / "tomjerry", n=2)
        cache = root / "cache"
        self.env = {k: v for k, v in os.environ.items() if k not in ("GAN_DATA_DIR", "PYTHONPATH")}
        self.env.update(GAN_CACHE_DIR=str(cache), PYTHONPATH=str(REPO),
                        PATH=f"{Path(sys.executable).parent}:{self.env['PATH']}")
        monkeypatch.delenv("GAN_DATA_DIR", raising=False)
        monkeypatch.setenv("GAN_CACHE_DIR", str(cache))
        monkeypatch.chdir(self.root)
        self.monkeypatch = monkeypatch
        self.done: set[str] = set()
        self.page: list[str] = []  # the commands of the page being run
        self.made: dict[Path, str] = {}  # run folder -> the documented line that made it
        self.typed: set[str] = set()  # entry points already run through the shell
        self.steps = 2
        # A user who has trained on MNIST before has the classifier behind FID in the cache: a small one here, where
        # the default one goes, its lower accuracy bar on record (the docs' `gan.features data=mnist` then finds it).
        shared = cache / "features" / "mnist-classifier.pt"
        code, said = self.in_process("gan.features", f"data=mnist max_samples=2000 epochs=1 min_accuracy=0.5 output={shared}")
        assert code == 0, said

    def newest(self, pattern: str, line: str) -> str:
        """The run folder a user following this page would put in: the newest of `pattern`, preferring one that a
        command of the same page made (`self.page`), and among those one of the same model, data and experiment as
        `line` (a `ckpt_path=` must fit the recipe it starts)."""
        found = sorted(self.root.glob(pattern), key=lambda p: p.stat().st_mtime)
        assert found, f"no folder {pattern} for a placeholder: an earlier command should have made it"
        here = [p for p in found if self.made.get(p) in self.page]
        same = [p for p in here if _choices(self.made[p]) == _choices(line)]
        return str((same or here or found)[-1].relative_to(self.root))

    def record(self, line: str) -> None:
        """Notes which documented line made each run folder that is new since the last call."""
        for folder in self.root.glob("outputs/runs/*/*"):
            self.made.setdefault(folder, line)

    def fill(self, line: str) -> str:
        """The placeholders, filled with what earlier commands made."""
        line = re.sub(r"outputs/runs/([\w-]+)/<date>_<time>",
                      lambda m: self.newest(f"outputs/runs/{m.group(1)}/*", line), line)
        line = line.replace("<run>", self.newest("outputs/runs/*/*", line) if "<run>" in line else "")
        return line.replace("/path/to/images", str(self.images)).replace("/path/to/classes", str(self.classes))

    def shorten(self, line: str) -> str:
        """Append what keeps the command short; nothing else changes."""
        words = shlex.split(line)
        if not line.startswith("python -m gan.run") or "--cfg" in words or "--help" in words:
            return line
        if any(w.startswith("resume=") for w in words):
            self.steps += 2  # each resume of a run trains a little further than the one before
            return f"{line} trainer.max_steps={self.steps}"
        extra = ["trainer.max_steps=2"]
        if "-m" not in words[3:]:  # a sweep's values do not compose; the sweeps here are of the Gaussian GAN
            GlobalHydra.instance().clear()
            with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
                cfg = compose(config_name="config", overrides=words[3:])
            for key, value in SHORTER.items():
                found = OmegaConf.select(cfg, key, default=None)
                if isinstance(found, int) and found > value:
                    extra.append(f"{key}={value}")
            GlobalHydra.instance().clear()
        return " ".join([line, *extra])

    def in_process(self, module: str, args: str) -> tuple[int, str]:
        """`python -m <module> <args>` as the same `main` in this process: (exit code, the error it stopped with)."""
        import gan.evaluate
        import gan.features
        import gan.run
        import gan.sample

        argv = shlex.split(args)
        GlobalHydra.instance().clear()
        self.monkeypatch.setattr(sys, "argv", [module, *argv])
        try:
            if module == "gan.run":
                gan.run.cli()
            elif module == "gan.features":
                gan.features.main()
            else:
                {"gan.sample": gan.sample, "gan.evaluate": gan.evaluate}[module].main(argv)
        except SystemExit as stop:
            if stop.code not in (None, 0):
                return (stop.code if isinstance(stop.code, int) else 1), str(stop.code)
        finally:
            GlobalHydra.instance().clear()
        return 0, ""

    def run(self, line: str, cwd: Path | None = None) -> tuple[int, str]:
        """One `python -m gan.X ...` line: (exit code, its stderr or error). The first of each X goes through the shell."""
        module, args = re.match(r"python -m (gan\.\w+)\s*(.*)$", line).groups()
        start = time.perf_counter()
        if module in self.typed:
            with self.monkeypatch.context() as inside:
                inside.chdir(cwd or self.root)
                code, said = self.in_process(module, args)
        else:
            self.typed.add(module)
            result = subprocess.run(line, shell=True, cwd=cwd or self.root, env=self.env, capture_output=True, text=True,
                                    timeout=600)
            code, said = result.returncode, result.stderr
        print(f"{time.perf_counter() - start:6.1f} s  {line}")  # shown with -s or on failure
        return code, said

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


def _choices(line: str) -> set[str]:
    return {word for word in shlex.split(line) if word.startswith(("model=", "data=", "experiment="))}


def _one_error_line(code: int, said: str, naming: str) -> bool:
    last = said.strip().splitlines()[-1:] or [""]
    return code != 0 and last[0].startswith("error:") and naming in last[0] and "Traceback" not in said


def _check(space: Workspace, line: str) -> str | None:
    """Runs one documented line; what went wrong, or None."""
    if line.startswith(KINDS[3:]):  # a benchmark or a test run: minutes long, not run here
        return None if _named_file(line).is_file() else "names a file that does not exist"
    if line.startswith("tensorboard"):
        said = space.tensorboard(line)
        return None if "http://" in said else f"said: {said[-800:]}"
    if line.startswith('pip install -e ".['):
        extra = re.match(r'pip install -e "\.\[(\w+)\]" && (.*)$', line)
        module = {"optuna": "hydra_plugins.hydra_optuna_sweeper", "slurm": "hydra_plugins.hydra_submitit_launcher"}
        command = space.shorten(space.fill(extra.group(2)))
        if _installed(module[extra.group(1)]):  # installed: the command after `&&`, with a short study
            code, said = space.run(f"{command} hydra.sweeper.n_trials=2")
            return None if code == 0 else f"exit {code}: {said[-1500:]}"
        # Not installed: the command after `&&` must say how to install it, in one line.
        code, said = space.run(command)
        return None if _one_error_line(code, said, f'".[{extra.group(1)}]"') else f"without the extra: {said[-800:]}"
    code, said = space.run(space.shorten(space.fill(line)))
    absent = [folder for key, folder in ABSENT_DATA.items() if key in line.split()]
    if absent:  # data the docs ask users to provide: one error line naming it, no traceback
        return None if _one_error_line(code, said, absent[0]) else f"expected one error line naming {absent[0]}: {said[-800:]}"
    return None if code == 0 else f"exit {code}: {said[-1500:]}"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason="needs the real MNIST in ../shared/data")
def test_documented_commands_run_as_written(tmp_path, monkeypatch):
    space = Workspace(tmp_path, monkeypatch)
    failures = []
    for page in PAGES:
        space.page = page_commands(page)
        for line in space.page:
            if line in space.done:
                continue
            space.done.add(line)
            problem = _check(space, line)
            space.record(line)
            if problem:
                failures.append(f"{page.name}: {line}\n  {problem}")
        for command, message in error_examples(page):
            if f"$ {command}" in space.done:
                continue
            space.done.add(f"$ {command}")
            # Should the example not stop, it must not train the recipe's full length.
            short = command if "trainer.max_steps" in command else f"{command} trainer.max_steps=2"
            code, said = space.run(short if command.startswith("python -m gan.run") else command, cwd=space.errors)
            if said.strip().splitlines()[-1:] != [message]:
                failures.append(f"{page.name}: $ {command}\n  expected {message!r}, got: {said[-800:]}")
    assert not failures, "documented commands that failed as written:\n" + "\n".join(failures)
    # The README's sweeps ran as written: grouped by model and data, one folder per job, and a summary each.
    sweeps = sorted((space.root / "outputs" / "multirun" / "gaussian-gaussian").iterdir())
    jobs = Counter(len([p for p in sweep.iterdir() if p.is_dir()]) for sweep in sweeps)
    assert jobs >= Counter([2, 4]), jobs  # (and the guide's sweep; an Optuna study where the extra is installed)
    assert all((sweep / "summary.csv").is_file() for sweep in sweeps)
