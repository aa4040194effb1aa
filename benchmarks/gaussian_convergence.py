"""Time to converge: the seed's Gaussian GAN (benchmarks/gaussian_baseline.py) against our default recipe.

Both run in this one process on the same seeds, one after the other per seed, on one CPU thread each.
Converged: on 10,000 fresh generated samples |mean - 4| < 0.1 and |std - 1.25| < 0.1, held for 3 checks
in a row, checked every 100 seed epochs (for ours one training step is one seed epoch). The time to
converge is the wall time from the start of the run (for ours: `gan.run.train` building data, model and
Trainer) to the check that makes 3 in a row, checks included.

    python -m benchmarks.gaussian_convergence                      # 10 seeds, up to 5000 epochs each
    python -m benchmarks.gaussian_convergence --quick              # smoke run: 2 seeds, 300 epochs
    python -m benchmarks.gaussian_convergence --seeds 0-19 --epochs 3000
    python -m benchmarks.gaussian_convergence --no-baseline model.d_lr=1e-2   # ours only, with overrides
"""

import argparse
import logging
import math
import statistics
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from benchmarks.gaussian_baseline import MEAN, STD, train_baseline
from gan.run import train

CONF = Path(__file__).resolve().parents[1] / "conf"
SAMPLES, TOLERANCE, HOLD = 10_000, 0.1, 3
RESULTS: dict[str, dict] = {}  # run name -> what StopWhenConverged saw (train() returns only metrics)


class Convergence:
    """check(epoch, sample) -> True once mean and std have been within tolerance for HOLD checks in a row."""

    def __init__(self, start: float, cpu_start: float) -> None:
        self.start, self.cpu_start, self.streak, self.epoch, self.seconds, self.cpu = start, cpu_start, 0, None, None, None
        self.last = (float("nan"), float("nan"))

    def __call__(self, epoch: int, sample) -> bool:
        x = sample(SAMPLES).double()
        self.last = (x.mean().item(), x.std(unbiased=False).item())
        ok = abs(self.last[0] - MEAN) < TOLERANCE and abs(self.last[1] - STD) < TOLERANCE
        self.streak = self.streak + 1 if ok else 0
        if self.streak >= HOLD:
            self.epoch, self.seconds = epoch, time.perf_counter() - self.start
            self.cpu = time.process_time() - self.cpu_start
            return True
        return False


class StopWhenConverged(pl.Callback):
    """Applies `Convergence` every `check_every` training steps of our GAN and stops the fit when it holds."""

    def __init__(self, name: str, start: float, cpu_start: float, check_every: int = 100) -> None:
        self.name, self.check_every, self.steps = name, check_every, 0
        self.convergence = Convergence(start, cpu_start)
        RESULTS[name] = {"convergence": self.convergence, "steps": 0}

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self.steps += 1  # one training step = one seed epoch
        RESULTS[self.name]["steps"] = self.steps
        if self.steps % self.check_every == 0 and self.convergence(self.steps, lambda n: pl_module.draw(n)):
            trainer.should_stop = True


def run_ours(seed: int, max_epochs: int, check_every: int, overrides: list[str], workdir: Path) -> dict:
    name = f"ours-{seed}"
    GlobalHydra.instance().clear()
    start, cpu_start = time.perf_counter(), time.process_time()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[f"seed={seed}", "logger=none", f"paths.output_dir={workdir / name}", *overrides],
            return_hydra_config=True,
        )
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.trainer.enable_progress_bar = False
        cfg.trainer.max_epochs = -1  # the cap is in seed epochs (training steps), as for the baseline
        cfg.trainer.max_steps = max_epochs
        cfg.callbacks.gaussian_monitor.print_status = False  # keep the table readable
        cfg.callbacks.convergence = {
            "_target_": f"{__name__}.StopWhenConverged", "name": name, "start": start, "cpu_start": cpu_start,
            "check_every": check_every,
        }
    train(cfg)
    seen = RESULTS.pop(name)
    conv = seen["convergence"]
    return {"epoch": conv.epoch, "seconds": conv.seconds, "cpu": conv.cpu, "ran": seen["steps"], "last": conv.last,
            "total": time.perf_counter() - start}


def run_baseline(seed: int, max_epochs: int, check_every: int) -> dict:
    conv = Convergence(time.perf_counter(), time.process_time())
    out = train_baseline(seed, max_epochs, check=conv, check_every=check_every)
    return {"epoch": conv.epoch, "seconds": conv.seconds, "cpu": conv.cpu, "ran": out["epochs"], "last": conv.last,
            "total": out["seconds"]}


def median_time(results: list[dict], key: str = "seconds") -> float:
    """Median over all seeds, a seed that never converged counting as infinitely slow."""
    return statistics.median([r[key] if r["epoch"] else float("inf") for r in results])


def describe(r: dict) -> str:
    mean, std = r["last"]
    if r["epoch"]:
        return f"converged at {r['epoch']:5d} epochs in {r['seconds']:7.2f} s (CPU {r['cpu']:7.2f} s)"
    return f"not converged in {r['ran']:5d} epochs ({r['total']:6.1f} s; last mean {mean:.3f} std {std:.3f})"


def parse_seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 1,5,7 (default 0-9)")
    parser.add_argument("--epochs", type=int, default=5000, help="cap in seed epochs for both (the seed's 5000)")
    parser.add_argument("--check-every", type=int, default=100, help="seed epochs between checks (default 100)")
    parser.add_argument("--quick", action="store_true", help="smoke run: seeds 0,1 and 300 epochs")
    parser.add_argument("--no-baseline", action="store_true", help="run only ours (for tuning)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for our run, e.g. model.d_lr=1e-2")
    args = parser.parse_args()
    seeds, epochs = ([0, 1], 300) if args.quick else (parse_seeds(args.seeds), args.epochs)
    torch.set_num_threads(1)  # tiny networks: one thread is fastest and spares the machine's other cores
    pl.utilities.disable_possible_user_warnings()
    for name in ("pytorch_lightning", "lightning_fabric"):  # no "Seed set to" lines between the results
        logging.getLogger(name).setLevel(logging.ERROR)
    print(f"seeds {seeds}, cap {epochs} epochs, check every {args.check_every}, torch threads 1, "
          f"ours: default config {' '.join(args.overrides) or '(no overrides)'}", flush=True)

    ours, base = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            if not args.no_baseline:
                base.append(run_baseline(seed, epochs, args.check_every))
                print(f"seed {seed:3d} baseline: {describe(base[-1])}", flush=True)
            ours.append(run_ours(seed, epochs, args.check_every, args.overrides, Path(tmp)))
            print(f"seed {seed:3d} ours:     {describe(ours[-1])}", flush=True)

    rows = [("ours (default recipe)", ours)] + ([] if args.no_baseline else [("baseline (seed program)", base)])
    print("\n| run | converged | median wall time to converge (s) | median CPU time (s) | median epochs |")
    print("|---|---|---|---|---|")
    for label, results in rows:
        hit = [r for r in results if r["epoch"]]
        med_epochs = statistics.median([r["epoch"] if r["epoch"] else float("inf") for r in results])
        print(f"| {label} | {len(hit)}/{len(results)} | {median_time(results):.2f} | "
              f"{median_time(results, 'cpu'):.2f} | {med_epochs:g} |")
    if not args.no_baseline:
        for key, what in (("seconds", "wall"), ("cpu", "CPU")):
            ours_t, base_t = median_time(ours, key), median_time(base, key)
            ratio = ours_t / base_t if math.isfinite(base_t) else float("nan")
            print(f"median {what} time ratio ours/baseline: {ratio:.3f} (target <= 0.333)")
        print("(inf: our median seed never converged; nan: the baseline's median seed never did)")

if __name__ == "__main__":
    main()
