"""Sample quality of the MNIST vanilla GAN after a few epochs: FID, KID and class entropy over the project's
classifier at every epoch, then the final figures beside the real-vs-real floor, for the seed recipe and our
default recipe side by side in one run.

    python -m gan.features data=mnist                         # optional: runs build the classifier when missing (~/.cache/gan)
    python benchmarks/mnist_quality.py --epochs 5 --data-dir ../shared/data

When both recipes resolve to the same model, data and trainer settings, the script trains once and says so.
"""

import argparse
import csv
import json
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

from gan.run import CONFIG_DIR, train

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
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--out", default="outputs/benchmarks/mnist_quality")
    parser.add_argument("--limit-train-batches", type=float, default=1.0, help="fraction (or count) of each epoch")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
