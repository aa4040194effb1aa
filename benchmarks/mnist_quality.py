"""Sample quality of MNIST GANs over training, over the project's classifier, beside the real-vs-real floor.

Two modes. By epochs: FID, KID and class entropy at every epoch for the MNIST notebook's recipe and our default recipe
(when both resolve to the same model, data and trainer settings, it trains once and says so):

    python -m gan.features data=mnist                         # optional: runs build the classifier when missing (~/.cache/gan)
    python benchmarks/mnist_quality.py --epochs 5 --data-dir ../shared/data

Quality per time (`--cpu-seconds`): the MNIST notebook's recipe (experiment=mnist_seed) and the best recipe
(experiment=mnist_best) each get the same budget of training CPU seconds; FID, precision/recall and classes covered
are measured every `--every` training CPU seconds on `--curve-samples` images (evaluation time is not counted in
either clock), the end state on model.eval_samples (10,000). Saves the curve and both end-state grids (docs/):

    python benchmarks/mnist_quality.py --cpu-seconds 600 --threads 2 --data-dir ../shared/data --docs docs

"""

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import torch

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gan, run from anywhere

from gan.callbacks.budget import Progress  # noqa: E402
from gan.run import CONFIG_DIR, train  # noqa: E402

RECIPES = {"seed (experiment=mnist_seed)": ["experiment=mnist_seed"], "default (model=vanilla data=mnist)": ["model=vanilla", "data=mnist"]}  # fmt: skip
COLUMNS = ("fid", "kid", "class_entropy", "mode_coverage")


def compose_run(overrides: list[str], output_dir: Path):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=[f"paths.output_dir={output_dir}", *overrides], return_hydra_config=True)
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.trainer.enable_progress_bar = False
    return cfg


def recipe_key(cfg) -> str:
    """What decides the numbers: model, data and trainer settings (not pictures or logging)."""
    parts = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "data", "trainer")}
    parts["seed"] = cfg.seed
    for volatile in ("default_root_dir", "log_every_n_steps", "enable_progress_bar"):
        parts["trainer"].pop(volatile, None)
    return json.dumps(parts, sort_keys=True, default=str)


def per_epoch(output_dir: Path) -> list[dict]:
    rows = []
    with open(output_dir / "csv" / "metrics.csv") as f:
        for row in csv.DictReader(f):
            if row.get("val/fid"):
                rows.append({"epoch": int(row["epoch"]) + 1, **{k: float(row[f"val/{k}"]) for k in COLUMNS}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-seconds", type=float, default=None, help="quality per time: training CPU budget per recipe")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--out", default="outputs/benchmarks/mnist_quality")
    parser.add_argument("--limit-train-batches", type=float, default=1.0, help="fraction (or count) of each epoch")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the 10-CPU-minute target: 2)")
    parser.add_argument("--every", type=float, default=60, help="training CPU seconds between two curve points")
    parser.add_argument("--curve-samples", type=int, default=2000, help="images behind each curve point")
    parser.add_argument("--recipes", default="seed,best", help="which of: " + ", ".join(TIMED_RECIPES))
    parser.add_argument("--seed", type=int, default=1, help="timed runs' seed (recipes were screened on 1234)")
    parser.add_argument("--experiment", default="mnist_best", help="the best recipe's experiment (screen a candidate)")
    parser.add_argument("--reuse", action="store_true", help="read finished timed runs from --out instead of training")
    parser.add_argument("--docs", default=None, help="write mnist_quality.png and mnist_<recipe>_grid.png here")
    parser.add_argument("overrides", nargs="*", help="added to every timed recipe, e.g. model.loss=hinge")
    args = parser.parse_intermixed_args()
    if args.cpu_seconds is not None:
        return quality_per_time(args)
    common = [
        f"paths.data_dir={args.data_dir}", f"trainer.max_epochs={args.epochs}", "trainer.check_val_every_n_epoch=1",
        "logger=csv", "seed=1234", f"+trainer.limit_train_batches={args.limit_train_batches}",
    ]  # fmt: skip
    done: dict[str, tuple[str, dict, list]] = {}
    table = []
    for name, overrides in RECIPES.items():
        out = Path(args.out) / name.split(" ")[0]
        cfg = compose_run([*overrides, *common], out.resolve())
        key = recipe_key(cfg)
        if key in done:
            same_as, final, epochs = done[key]
            print(f"{name}: the same model, data and trainer settings as {same_as}; not trained again")
        else:
            start = time.perf_counter()
            final = train(cfg)
            epochs = per_epoch(out.resolve())
            print(f"{name}: trained {args.epochs} epochs in {time.perf_counter() - start:.0f} s -> {out}")
            done[key] = (name, final, epochs)
        table.append((name, final, epochs))

    print(f"\n| recipe | epoch | FID | KID | class entropy (uniform {table[0][1]['class_entropy_uniform']:.3f}) | modes |")
    print("|---|---|---|---|---|---|")
    for name, final, epochs in table:
        for row in epochs:
            print(f"| {name} | {row['epoch']} | {row['fid']:.2f} | {row['kid']:.3f} | {row['class_entropy']:.3f} | "
                  f"{row['mode_coverage']:.0f}/10 |")  # fmt: skip
    final = table[0][1]
    print(f"| real-vs-real floor (train vs test images) | - | {final['fid_floor']:.2f} | {final['kid_floor']:.3f} | "
          f"{final['class_entropy_real']:.3f} | - |")  # fmt: skip
    print(f"\n{int(final['eval_samples'])} images per figure; final evaluation (metrics.json):")
    for name, final, _ in table:
        print(f"  {name}: " + ", ".join(f"{k}={final[k]:.4g}" for k in ("fid", "kid", "class_entropy", "fid_floor")))


# ---- quality per time ---------------------------------------------------------------------------------------
TIMED_RECIPES = {"seed": ["experiment=mnist_seed"], "best": ["experiment=mnist_best"]}


def quality_per_time(args) -> None:
    torch.set_num_threads(args.threads)
    runs = {}
    for name in args.recipes.split(","):
        out = (Path(args.out) / f"{name}-{int(args.cpu_seconds)}cpu-s").resolve()
        saved = sorted(Path(args.out).glob(f"{name}-*cpu-s/quality_per_time.json"), key=lambda p: p.stat().st_mtime)
        if args.reuse and saved:  # the recipes run one invocation at a time (budgets may differ): the latest of each
            runs[name] = json.loads(saved[-1].read_text())
            print(f"{name}: read from {saved[-1]}")
            continue
        recipe = [f"experiment={args.experiment}"] if name == "best" else TIMED_RECIPES[name]
        cfg = compose_run([*recipe, f"paths.data_dir={Path(args.data_dir).resolve()}", "logger=none",
                           f"seed={args.seed}", "trainer.max_epochs=1000", "~callbacks.sample_quality", "model.monitor=null",
                           *clock_callback(args), *args.overrides], out)  # fmt: skip
        print(f"{name} ({' '.join(recipe)}, {args.threads} threads): {args.cpu_seconds:.0f} training CPU-s")
        final = train(cfg)
        runs[name] = {"rows": Progress.last.rows, "final": final}
        (out / "quality_per_time.json").write_text(json.dumps(runs[name], indent=1) + "\n")
        if args.docs:
            save_grid(out, Path(args.docs) / f"mnist_{name}_grid.png")
    report(runs, args)


def clock_callback(args) -> list[str]:
    """The overrides that add gan.callbacks.budget.Progress to a run's callbacks: scored at the start, every `--every`
    training CPU seconds, and when the budget is spent or the recipe's own trainer.max_steps ends it first (`data`
    stays a config, as sample_quality's)."""
    node = "+callbacks.quality_clock"
    return [f"{node}._target_=gan.callbacks.budget.Progress", f"{node}._recursive_=false", f"{node}.data=${{data}}",
            f"{node}.cache_dir=${{paths.cache_dir}}", f"{node}.seconds={args.cpu_seconds}", f"{node}.every={args.every}",
            f"{node}.samples={args.curve_samples}", f"{node}.at_start=true", f"{node}.at_epoch_end=false",
            f"{node}.at_end=true"]  # fmt: skip


def save_grid(run_dir: Path, path: Path) -> None:
    """The run's last 8 x 8... grid (its fixed noise, at the end of training), copied for the docs."""
    grids = sorted((run_dir / "samples").glob("*.png"), key=lambda p: p.stat().st_mtime)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(grids[-1].read_bytes())
    print(f"grid: {path} (from {grids[-1]})")


def report(runs: dict, args) -> None:
    print("\n| recipe | training CPU-s | wall s | steps | FID | precision | recall | classes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, run_ in runs.items():
        for row in run_["rows"]:
            print(f"| {name} | {row['cpu_s']:.0f} | {row['wall_s']:.0f} | {row['steps']} | {row['fid']:.2f} | "
                  f"{row['precision']:.3f} | {row['recall']:.3f} | {row['mode_coverage']:.0f}/10 |")
    print(f"\nEnd states on {args.curve_samples} images per curve point; metrics.json on model.eval_samples:")
    for name, run_ in runs.items():
        f = run_["final"]
        print(f"  {name}: fid={f['fid']:.3f} (floor {f['fid_floor']:.3f}), precision={f['precision']:.3f}, "
              f"recall={f['recall']:.3f}, density={f['density']:.3f}, coverage={f['coverage']:.3f}, "
              f"classes={f['mode_coverage']:.0f}/10, steps={f['training_steps']:.0f}")
    if args.docs:
        plot(runs, Path(args.docs) / "mnist_quality.png", args)


def plot(runs: dict, path: Path, args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for colour, (name, run_) in zip(("tab:blue", "tab:orange"), runs.items()):
        rows = [r for r in run_["rows"] if r["cpu_s"] > 0]
        cpu = [r["cpu_s"] / 60 for r in rows]
        axes[0].semilogy(cpu, [r["fid"] for r in rows], "o-", color=colour, label=f"{name} ({TIMED_RECIPES[name][0]})")
        axes[1].plot(cpu, [r["precision"] for r in rows], "o-", color=colour, label=f"{name} precision")
        axes[1].plot(cpu, [r["recall"] for r in rows], "s--", color=colour, label=f"{name} recall")
        axes[2].plot(cpu, [r["mode_coverage"] for r in rows], "o-", color=colour, label=name)
    floor = next(iter(runs.values()))["rows"][0]["fid_floor"]
    axes[0].axhline(floor, color="grey", lw=0.8, ls=":", label=f"real-vs-real floor {floor:.2f} ({args.curve_samples} images)")
    for ax, title in zip(axes, ("FID (classifier features)", "precision / recall", "classes covered (of 10)")):
        ax.set_xlabel(f"training CPU minutes ({args.threads} torch thread{'s' if args.threads > 1 else ''})")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    axes[2].set_ylim(0, 10.5)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    print(f"curve: {path}")


if __name__ == "__main__":
    main()
