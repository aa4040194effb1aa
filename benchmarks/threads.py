"""Wall and CPU seconds of small-network runs at each thread count, on a quiet and on a busy machine, side by side.

    python benchmarks/threads.py                          # 3 rounds; the default Gaussian run and 1,000 ring steps
    python benchmarks/threads.py --rounds 5 --threads auto,1,2,null
    python benchmarks/threads.py --runs gaussian          # only the default Gaussian run

Each case is a fresh `python -m gan.run <args> threads=<t>` process, as a user types it (`threads=auto` is the
default). "busy" starts one busy-looping process per core beside the run, as other jobs on a shared machine or the
parallel jobs of a sweep do; "quiet" runs the case alone (whatever else the machine is doing). Cases run
interleaved over rounds, so a busy spell hits them alike; the median round is printed.
"""

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = {
    "gaussian (default run)": ["callbacks.gaussian_monitor.print_status=false"],
    "ring, 1,000 steps": ["model=mixture", "data=ring", "trainer.max_steps=1000"],
}
QUIET = ["logger=none", "++trainer.enable_progress_bar=false"]


def _spin() -> None:
    while True:
        pass


def timed_run(args: list[str], tmp: Path) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one `python -m gan.run` process; raises if it failed."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OMP_NUM_THREADS", None)  # what a user gets: torch decides, unless threads= says
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gan.run", *args, f"paths.output_dir={tmp}"],
                          capture_output=True, text=True, cwd=tmp.parent, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="auto,2", help="thread settings to compare, e.g. auto,1,2,null")
    parser.add_argument("--runs", default="gaussian,ring", help="which runs: gaussian, ring or both (default)")
    args = parser.parse_args()
    runs = {name: run_args for name, run_args in RUNS.items() if name.split()[0].rstrip(",") in args.runs.split(",")}
    settings = args.threads.split(",")
    cores = os.cpu_count() or 1
    times: dict[tuple, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            for load in ("quiet", "busy"):
                spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(cores if load == "busy" else 0)]
                for spinner in spinners:
                    spinner.start()
                try:
                    for name, run_args in runs.items():
                        for threads in settings:
                            out = Path(tmp) / f"{load}-{n}-{threads}-{len(times)}"
                            times.setdefault((name, load, threads), []).append(
                                timed_run([*run_args, *QUIET, f"threads={threads}"], out))
                finally:
                    for spinner in spinners:
                        spinner.terminate()
            print(f"round {n + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    print(f"{cores} cores; busy = {cores} busy-looping processes beside the run; medians of {args.rounds} rounds\n")
    print("| run | machine | threads | wall s | CPU s |")
    print("| --- | --- | --- | ---: | ---: |")
    for (name, load, threads), rows in times.items():
        wall, cpu = statistics.median(w for w, _ in rows), statistics.median(c for _, c in rows)
        print(f"| {name} | {load} | {threads} | {wall:.1f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
