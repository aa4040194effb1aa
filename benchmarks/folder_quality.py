"""Quality per training CPU time on a folder of RGB images: the Tom & Jerry notebook's DCGAN beside our recipes.

Each recipe trains on the folder for the same budget of training CPU seconds (`--cpu-seconds`, one torch thread by
default); every `--every` training CPU seconds the run is saved (`<out>/<recipe>/checkpoints/cpu-<s>.ckpt`). Then
each snapshot is scored offline by `gan.evaluate`, in the folder's own features (a self-supervised network
trained on the folder on first need, cached; docs/evaluation.md): FID, KID, precision, recall, density and
coverage beside the real-vs-real floor. The table gives every point, the PNG the curves and the end states' grids.

    python benchmarks/folder_quality.py --folder ../shared/data/wesnoth/units --seed 101 --cpu-seconds 1800
    python benchmarks/folder_quality.py --folder ../shared/data/wesnoth/units --recipes ours --seed 102 --cpu-seconds 1800
    python benchmarks/folder_quality.py --folder ../shared/data/wesnoth/units --score-only --docs docs

Recipes can be trained in separate invocations (two processes on a two-core machine); `--score-only` scores and
reports what is under `--out` without training. Training CPU time counts all of the process's threads and leaves
out the time spent saving.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gan, run from anywhere

RECIPES = {
    "notebook": ["experiment=dcgan_seed", "data.image_size=64"],  # the Tom & Jerry DCGAN as written, at 64 px
    "ours": ["model=dcgan", "data=tomjerry"],                       # what `model=dcgan data=tomjerry` trains
    "folder_best": ["experiment=folder_best"],                      # our recipe for a few hundred images
}
SHOWN = ("fid", "fid_floor", "kid", "precision", "recall", "density", "coverage")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", required=True, help="a folder of images (searched recursively)")
    parser.add_argument("--recipes", default="notebook,ours", help="which of: " + ", ".join(RECIPES))
    parser.add_argument("--cpu-seconds", type=float, default=1800, help="training CPU budget per recipe")
    parser.add_argument("--every", type=float, default=300, help="training CPU seconds between two saved points")
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=2000, help="generated images behind each scored point")
    parser.add_argument("--out", default=None, help="default: outputs/benchmarks/folder_quality/<folder name>")
    parser.add_argument("--score-only", action="store_true", help="score and report what --out holds; train nothing")
    parser.add_argument("--docs", default=None, help="write the curve PNG and the end-state grids here")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every recipe (e.g. data.image_size=64)")
    args = parser.parse_args()
    args.folder = Path(args.folder).resolve()
    args.out = Path(args.out or f"outputs/benchmarks/folder_quality/{args.folder.name}").resolve()
    return args


def train_recipe(name: str, args: argparse.Namespace) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from gan.run import CONFIG_DIR, train

    out = args.out / name
    node = "+callbacks.quality_clock"
    clock = [f"{node}._target_=gan.callbacks.budget.Progress", f"{node}._recursive_=false", f"{node}.data=${{data}}",
             f"{node}.cache_dir=${{paths.cache_dir}}", f"{node}.seconds={args.cpu_seconds}", f"{node}.every={args.every}",
             f"{node}.samples=200", f"{node}.at_start=false", f"{node}.at_epoch_end=false", f"{node}.at_end=true",
             f"{node}.checkpoints={out / 'checkpoints'}"]  # fmt: skip
    overrides = [*RECIPES[name], f"data.root={args.folder}", f"seed={args.seed}", f"threads={args.threads}",
                 "logger=none", "trainer.max_epochs=100000", "++trainer.enable_progress_bar=false",
                 f"paths.output_dir={out}", *clock, *args.overrides]  # fmt: skip
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=overrides, return_hydra_config=True)
    HydraConfig().set_config(cfg)
    print(f"{name}: {' '.join(RECIPES[name])} on {args.folder}, seed {args.seed}, {args.cpu_seconds:.0f} training CPU-s")
    train(cfg)


def score(name: str, args: argparse.Namespace) -> list[dict]:
    """Each saved point of the recipe, scored (cached in <out>/<recipe>/scores.json)."""
    from gan.evaluate import evaluate

    saved = args.out / name / "scores.json"
    scores = json.loads(saved.read_text()) if saved.is_file() else {}
    for ckpt in sorted((args.out / name / "checkpoints").glob("cpu-*.ckpt")):
        key = f"{ckpt.name}:{args.samples}"
        if key not in scores:
            report = evaluate(ckpt, samples=args.samples, output=ckpt.with_suffix(".json"))
            scores[key] = {"cpu_s": int(ckpt.stem.split("-")[1]), **report["figures"],
                           "features": report.get("measured", [])}
            saved.write_text(json.dumps(scores, indent=1) + "\n")
    return sorted((v for k, v in scores.items() if k.endswith(f":{args.samples}")), key=lambda r: r["cpu_s"])


def grid(name: str, args: argparse.Namespace, path: Path) -> None:
    """An 8 x 8 grid from the recipe's last saved point (its sampling generator: the EMA one where there is one)."""
    from gan.sampling import sample

    last = sorted((args.out / name / "checkpoints").glob("cpu-*.ckpt"))[-1]
    written = sample(last, n=64, out=args.out / name / "sampled", seed=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(written[0].read_bytes())  # grid.png
    print(f"grid: {path} (from {last})")


def report(rows: dict[str, list[dict]], args: argparse.Namespace) -> None:
    print(f"\n{args.folder.name}, seed {args.seed}, {args.samples} generated images per point")
    print("| recipe | training CPU-min | " + " | ".join(SHOWN) + " |")
    print("|---|---:|" + "---:|" * len(SHOWN))
    for name, points in rows.items():
        for r in points:
            print(f"| {name} | {r['cpu_s'] / 60:.1f} | " + " | ".join(f"{r.get(k, float('nan')):.3f}" for k in SHOWN) + " |")
    ends = {name: points[-1] for name, points in rows.items() if points}
    if "notebook" in ends:
        for name, end in ends.items():
            if name != "notebook":
                print(f"end-state FID, {name} / notebook: {end['fid'] / ends['notebook']['fid']:.3f}")
    features = next((p[-1]["features"] for p in rows.values() if p), [])
    print("features:", "; ".join(features))


def plot(rows: dict[str, list[dict]], path: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, points in rows.items():
        cpu = [r["cpu_s"] / 60 for r in points]
        line = axes[0].semilogy(cpu, [r["fid"] for r in points], "o-", label=name)[0]
        axes[1].plot(cpu, [r["precision"] for r in points], "o-", color=line.get_color(), label=f"{name} precision")
        axes[1].plot(cpu, [r["recall"] for r in points], "s--", color=line.get_color(), label=f"{name} recall")
    floor = next(p[-1]["fid_floor"] for p in rows.values() if p)
    axes[0].axhline(floor, color="grey", lw=0.8, ls=":", label=f"real-vs-real floor {floor:.2f}")
    for ax, title in zip(axes, ("FID (the folder's self-supervised features)", "precision / recall")):
        ax.set_xlabel(f"training CPU minutes ({args.threads} thread{'s' if args.threads > 1 else ''})")
        ax.set_title(f"{args.folder.name}: {title}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    print(f"curve: {path}")


def main() -> None:
    args = parse()
    names = args.recipes.split(",")
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        sys.exit(f"unknown recipe {unknown}: choose from {', '.join(RECIPES)}")
    if not args.score_only:
        import torch

        torch.set_num_threads(args.threads)
        for name in names:
            train_recipe(name, args)
    rows = {name: score(name, args) for name in names if (args.out / name / "checkpoints").is_dir()}
    report(rows, args)
    if args.docs:
        plot(rows, Path(args.docs) / f"folder_quality_{args.folder.name}.png", args)
        for name in rows:
            grid(name, args, Path(args.docs) / f"folder_{args.folder.name}_{name}.png")


if __name__ == "__main__":
    main()
