"""The loss family on MNIST with the MNIST notebook's MLP networks (model=vanilla data=mnist): the same seed and the same
number of training steps for every row, figures from the project's own evaluation (gan/eval/evaluator.py, at the end
of each run: FID and KID over the classifier built by `python -m gan.features`, classes covered, class entropy), one
torch thread.

    python -m gan.features data=mnist paths.data_dir=../shared/data          # once: the classifier
    python -m benchmarks.loss_family --data-dir ../shared/data               # the whole table (docs/losses.md)
    python -m benchmarks.loss_family --data-dir ../shared/data --rows bce,wgan-gp --steps 200   # a quick look

Rows: bce, minimax, hinge, lsgan and wgan-gp (wgan with model.gradient_penalty=10), each without and with
spectral norm on D; then bce on the first `--subset` training images without and with DiffAugment
(color,translation,cutout, the paper's policy for few images), for the same number of steps.
"""

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks.mnist_quality import compose_run
from gan.run import train

LOSS_ROWS = {"bce": ["model.loss=bce"], "minimax": ["model.loss=minimax"], "hinge": ["model.loss=hinge"],
             "lsgan": ["model.loss=lsgan"], "wgan-gp": ["model.loss=wgan", "model.gradient_penalty=10"]}  # fmt: skip
SPECTRAL = ["model.discriminator.spectral_norm=true"]
AUGMENT = ["model.augment=[color,translation,cutout]"]
COLUMNS = ("fid", "kid", "mode_coverage", "class_entropy")


def rows(subset: int) -> dict[str, list[str]]:
    """Row name -> the overrides that make it, in the table's order."""
    table = {}
    for name, overrides in LOSS_ROWS.items():
        table[name] = overrides
        table[f"{name} +SN"] = [*overrides, *SPECTRAL]
    table[f"bce on {subset} images"] = ["model.loss=bce", f"data.subset={subset}"]
    table[f"bce on {subset} images +DiffAugment"] = ["model.loss=bce", f"data.subset={subset}", *AUGMENT]
    return table


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1200, help="training steps per row (600 = one MNIST epoch)")
    parser.add_argument("--eval-samples", type=int, default=2000, help="generated and held-out images per figure")
    parser.add_argument("--subset", type=int, default=1000, help="training images of the DiffAugment rows")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--cache-dir", default="outputs/cache", help="where gan.features put the classifier")
    parser.add_argument("--rows", default=None, help="comma-separated row names (default: all)")
    parser.add_argument("--out", default="outputs/benchmarks/loss_family")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # one thread: the figures compare losses, not how busy the machine was
    table = rows(args.subset)
    chosen = args.rows.split(",") if args.rows else list(table)
    common = [
        "model=vanilla", "data=mnist", f"paths.data_dir={args.data_dir}", f"paths.cache_dir={Path(args.cache_dir).resolve()}",
        f"seed={args.seed}", f"trainer.max_steps={args.steps}", "trainer.max_epochs=-1", "logger=none",
        f"model.eval_samples={args.eval_samples}", "model.monitor=null", "+trainer.limit_val_batches=0",
        "callbacks.sample_grid.every_n_epochs=null",  # one grid at the end; the 1k rows have 10-batch epochs
    ]  # fmt: skip
    results = []
    for i, name in enumerate(chosen):
        out = (Path(args.out) / f"{i:02d}").resolve()
        start = time.perf_counter()
        metrics = train(compose_run([*common, *table[name]], out))
        results.append({"row": name, "overrides": " ".join(table[name]), "seconds": time.perf_counter() - start, **metrics})
        print(f"{name}: {args.steps} steps in {results[-1]['seconds']:.0f} s -> {out}", flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(format_table(results, args), flush=True)
    return results


def format_table(results: list[dict], args) -> str:
    def cell(row: dict, key: str, spec: str) -> str:
        return format(row[key], spec) if key in row else "n/a"

    lines = [
        f"{args.steps} training steps per row (batch 100), seed {args.seed}, one torch thread; "
        f"{args.eval_samples} generated vs held-out images per figure.",
        "",
        "| row | FID | KID | classes covered | class entropy | wall time (s) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in results:
        lines.append(
            f"| {row['row']} | {cell(row, 'fid', '.2f')} | {cell(row, 'kid', '.4f')} | "
            f"{cell(row, 'mode_coverage', '.0f')}/10 | {cell(row, 'class_entropy', '.3f')} | {row['seconds']:.0f} |"
        )
    first = results[0] if results else {}
    if "fid_floor" in first:
        lines.append(f"| real train vs held-out images (floor) | {first['fid_floor']:.2f} | {first['kid_floor']:.4f} | "
                     f"- | {first['class_entropy_real']:.3f} | - |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
