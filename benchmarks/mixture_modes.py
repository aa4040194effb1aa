"""Mode collapse on the 2-D ring and grid: our default 2-D recipe, a plain GAN and PacGAN, on the same seeds.

Every run is `python -m gan.run model=mixture data=<ring|grid> seed=N <overrides>` in process (logger off),
measured at its end as PacGAN measures (gan/eval/mixture.py, 2,500 fresh samples): modes covered,
share of high-quality samples (ceiling 98.9 %), reverse KL of the mode histogram to uniform. Prints one
row per run, then the mean and range per (data, recipe) beside PacGAN's Table 1 anchors, and CPU time.

    python -m benchmarks.mixture_modes                                  # ring and grid, seeds 0-9, all recipes
    python -m benchmarks.mixture_modes --data ring --seeds 0-2 --recipes default
    python -m benchmarks.mixture_modes --recipes default,gan,pacgan model.g_lr=2e-4   # overrides apply to all
    python -m benchmarks.mixture_modes --seeds 100 --recipes default --out runs/   # keep run folders (scatter.png)

Recipes: `default` is model=mixture as configured (rejection sampling on; G's own figures in the raw column);
`gan` is the same networks and schedule with pack=1 (on the ring, the default's G without its EMA); `pacgan`
packs 2 samples on the ring and 4 on the grid, PacGAN's best rows. Both baselines sample G directly
(model.sampling=raw), as the papers do, from G itself (no EMA), and train without R1. The batch, D updates and
schedule are the default's for all three.
"""

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from benchmarks.gaussian_endstate import parse_seeds
from gan.run import train

CONF = Path(__file__).resolve().parents[1] / "conf"
AS_THE_PAPERS = ["model.sampling=raw", "model.ema_decay=null", "model.r1_gamma=0"]  # the baselines: G's own draws
RECIPES = {
    "default": {"ring": [], "grid": []},
    "gan": {"ring": ["model.pack=1", *AS_THE_PAPERS], "grid": ["model.pack=1", *AS_THE_PAPERS]},
    "pacgan": {"ring": ["model.pack=2", *AS_THE_PAPERS], "grid": ["model.pack=4", *AS_THE_PAPERS]},
}
# PacGAN Table 1 (10 trials, 2,500 samples): (modes, high quality, reverse KL)
ANCHORS = {("ring", "gan"): "GAN 6.3, 98.2 %, 0.45", ("ring", "pacgan"): "PacGAN2 7.9, 95.6 %, 0.07",
           ("grid", "gan"): "GAN 17.3, 94.8 %, 0.70", ("grid", "pacgan"): "PacGAN4 24.8, 93.6 %, 0.04"}


def run(data: str, seed: int, overrides: list[str], workdir: Path) -> dict:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", return_hydra_config=True, overrides=[
            "model=mixture", f"data={data}", f"seed={seed}", "logger=none", f"paths.output_dir={workdir}", *overrides])
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.trainer.enable_progress_bar = False
    cpu = time.process_time()
    metrics = train(cfg)
    return {"seed": seed, "modes": metrics["modes"], "hq": metrics["high_quality"], "kl": metrics["reverse_kl"],
            "raw": (metrics["modes_raw"], metrics["high_quality_raw"], metrics["reverse_kl_raw"]),
            "wall": metrics["train_time_s"], "cpu": time.process_time() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="ring,grid")
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--recipes", default="default,gan,pacgan")
    parser.add_argument("--out", default=None, help="keep each run's folder (scatter.png, metrics.json) here")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    pl.utilities.disable_possible_user_warnings()
    warnings.filterwarnings("ignore", module="pytorch_lightning")
    for name in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    print(f"torch threads 1; overrides: {' '.join(args.overrides) or '(none)'}")
    print("| data | recipe | seed | modes | high quality | reverse KL | raw G: modes, high quality, reverse KL "
          "| train wall s | CPU s |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    results: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = args.out or tmp
        for data in args.data.split(","):
            for seed in parse_seeds(args.seeds):
                for recipe in args.recipes.split(","):
                    r = run(data, seed, [*RECIPES[recipe][data], *args.overrides], Path(tmp) / f"{data}-{recipe}-{seed}")
                    results.setdefault((data, recipe), []).append(r)
                    modes, hq, kl = r["raw"]
                    print(f"| {data} | {recipe} | {seed} | {r['modes']:.0f} | {100 * r['hq']:.1f} % | {r['kl']:.4f} "
                          f"| {modes:.0f}, {100 * hq:.1f} %, {kl:.4f} | {r['wall']:.1f} | {r['cpu']:.1f} |", flush=True)
    print("\n| data | recipe | runs | modes (mean, min) | high quality (mean, min) | reverse KL (mean, max) "
          "| median CPU s | PacGAN Table 1 |")
    print("|---|---|---|---|---|---|---|---|")
    for (data, recipe), rs in results.items():
        modes, hq, kl = [r["modes"] for r in rs], [r["hq"] for r in rs], [r["kl"] for r in rs]
        print(f"| {data} | {recipe} | {len(rs)} | {statistics.mean(modes):.1f}, {min(modes):.0f} "
              f"| {100 * statistics.mean(hq):.1f} %, {100 * min(hq):.1f} % | {statistics.mean(kl):.3f}, {max(kl):.3f} "
              f"| {statistics.median(r['cpu'] for r in rs):.1f} | {ANCHORS.get((data, recipe), '')} |")


if __name__ == "__main__":
    main()
