"""Wall and CPU seconds of `python -m gan.run` answering user errors, --help, and starting a normal run.

    python benchmarks/startup.py                         # this checkout alone, 5 rounds
    python benchmarks/startup.py --before HEAD~5         # against an earlier commit of this repository

Each case is a fresh `python -m gan.run <args>` process, as a user types it, run from a temporary folder with the
checkout on PYTHONPATH; the checkouts and cases run interleaved over rounds, so a busy spell on a shared machine hits
them alike, and the median round is reported. CPU seconds are the child process's own (user + system). The target
(issue 15) is at most 2 s of wall time for the errors; a normal run must not start slower than before.
"""

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# (name, arguments, what the output must hold); {tmp} is a scratch folder.
CASES = [
    ("bad key", ["model.no_such_key=1"], "no_such_key"),
    ("bad value (model.loss)", ["model.loss=hinj"], "model.loss='hinj'"),
    ("bad network value", ["model.discriminator.preprocess=quantiles"], "quantiles"),
    ("missing MNIST folder", ["model=vanilla", "data=mnist", "paths.data_dir={tmp}/none"], "mnist files missing"),
    ("missing image folder", ["model=dcgan", "data=image_folder", "data.root={tmp}/none"], "does not exist"),
    ("trainer=gpu without a GPU", ["trainer=gpu"], "gpu"),
    ("--help", ["--help"], "Powered by Hydra"),
    ("normal run, 1 step (start-up + 1 step + end)",
     ["trainer.max_steps=1", "logger=none", "model.eval_samples=100", "paths.output_dir={tmp}/run{n}"], "Results in"),
]


def run_case(checkout: Path, args: list[str], tmp: Path, n: int) -> tuple[float, float, str]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gan.run", *[a.format(tmp=tmp, n=n) for a in args]],
                          capture_output=True, text=True, cwd=tmp, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout + done.stderr


def export_commit(rev: str, dest: Path) -> Path:
    """The files of commit `rev` of this repository, unpacked into `dest` (`git archive`: no worktree, no checkout)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=False)
    if archive.returncode:
        sys.exit(f"--before {rev}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", default="", help="a commit of this repository to compare (e.g. HEAD~5); '' for none")
    args = parser.parse_args()
    checkouts = {"now": REPO}
    with tempfile.TemporaryDirectory() as tmp:
        if args.before:
            checkouts["before"] = export_commit(args.before, Path(tmp) / "before")
        times = {(c, name): [] for c in checkouts for name, _, _ in CASES}
        for n in range(args.rounds):
            for name, case_args, says in CASES:
                for checkout, path in checkouts.items():
                    wall, cpu, out = run_case(path, case_args, Path(tmp), n)
                    if says not in out:
                        sys.exit(f"{checkout} {name}: expected {says!r} in the output, got:\n{out[-2000:]}")
                    times[checkout, name].append((wall, cpu))
            print(f"round {n + 1} done (load average {os.getloadavg()[0]:.2f})", flush=True)
    print(f"\n{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')}; medians of {args.rounds} "
          "interleaved rounds; wall s (CPU s)\n")
    print("| case | " + " | ".join(checkouts) + " |")
    print("| --- |" + " ---: |" * len(checkouts))
    for name, _, _ in CASES:
        cells = []
        for checkout in checkouts:
            wall = statistics.median(w for w, _ in times[checkout, name])
            cpu = statistics.median(c for _, c in times[checkout, name])
            cells.append(f"{wall:.2f} ({cpu:.2f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
