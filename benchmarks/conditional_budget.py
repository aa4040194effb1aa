"""A conditional GAN or InfoGAN on MNIST with a budget of training CPU seconds, then its figures (docs/conditional.md).

    python benchmarks/conditional_budget.py --out /tmp/cgan --data-dir ../shared/data                  # cgan, 180 s
    python benchmarks/conditional_budget.py --out /tmp/infogan --data-dir ../shared/data model=infogan
    python benchmarks/conditional_budget.py --out /tmp/ig --seconds 60 model=infogan model.info_weight=0 model.g_lr=2e-4
    # figures every 120 training CPU seconds and at each epoch's end, over the full-data classifier:
    python benchmarks/conditional_budget.py --out /tmp/ig --seconds 1200 --every 120 \
        --classifier ~/.cache/gan/features/mnist-classifier.pt model=infogan

The MLP models (cgan, vanilla) get the slow test's narrower MLPs (tests/test_conditional.py) unless --seed-widths.
All: batch 64, Adam betas (0.5, 0.999), --threads threads (1), figures on --samples samples (2,000) against as many
test images. The classifier is built first (10,000 training images, 2 epochs) and not counted, unless --classifier
names a built one (it is copied into the run's own cache). CPU time is the process's (all threads), training only:
the figures' own CPU time along the way is left out. Writes under --out, rows also to --out/progress.jsonl.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gan and tests, run from anywhere

import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402

from gan.run import train  # noqa: E402
from tests.conftest import compose_config  # noqa: E402
from tests.test_conditional import FAST_CGAN  # noqa: E402

KEYS = ("class_accuracy", "intra_fid", "code_accuracy", "fid", "class_entropy", "mode_coverage")


class Progress(pl.Callback):
    """Stops training after `seconds` of training CPU time; scores the generator every `every` training CPU seconds
    and at each epoch's end (its own CPU time is not counted as training). Rows go to stdout and `path`."""

    rows: list = []

    def __init__(self, data, cache_dir: str, seconds: float, every: float | None, samples: int, path: str) -> None:
        self.data, self.cache_dir, self.seconds, self.every, self.samples = data, cache_dir, seconds, every, samples
        self.path = Path(path)

    def on_train_start(self, trainer, pl_module) -> None:
        self.start, self.scoring = time.process_time(), 0.0
        self.next = self.every or float("inf")
        self.evaluator = pl_module.evaluator(data=self.data, cache_dir=self.cache_dir, samples=self.samples)
        self.evaluator.prepare()
        Progress.rows = []

    def used(self) -> float:
        return time.process_time() - self.start - self.scoring

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        used = self.used()
        if used >= self.next:
            self.score(trainer, pl_module, "interval")
            self.next += self.every
        if used >= self.seconds:
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.score(trainer, pl_module, "epoch end")

    def score(self, trainer, pl_module, when: str) -> None:
        row = {"cpu_s": round(self.used(), 1), "steps": pl_module.training_steps_done,
               "epochs": round(pl_module.training_steps_done / max(1, trainer.num_training_batches), 3), "when": when}
        tick = time.process_time()
        figures = self.evaluator.evaluate(pl_module)
        self.scoring += time.process_time() - tick
        row.update({k: round(float(figures[k]), 4) for k in KEYS if k in figures})
        Progress.rows.append(row)
        print(json.dumps(row), flush=True)
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--every", type=float, default=None, help="figures every this many training CPU seconds")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--classifier", default=None, help="a built classifier file to judge by (copied)")
    parser.add_argument("--seed-widths", action="store_true", help="MLP models: the seed's widths, not narrower")
    parser.add_argument("overrides", nargs="*", help="e.g. model=infogan model.g_lr=1e-3 (default model=cgan)")
    args = parser.parse_args()
    out = Path(args.out).absolute()
    os.environ["GAN_CACHE_DIR"] = str(out / "cache")
    if args.classifier:
        (out / "cache" / "features").mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(args.classifier).expanduser(), out / "cache" / "features" / "mnist-classifier.pt")
    torch.set_num_threads(args.threads)
    model = next((o for o in args.overrides if o.startswith("model=")), "model=cgan")
    narrow = FAST_CGAN[:-3] if model in ("model=cgan", "model=vanilla") and not args.seed_widths else []
    # FAST_CGAN[-3:]: betas (0.5, 0.999) and batch 64, for every model here
    cfg = compose_config([model, "data=mnist", "logger=none", "trainer.max_epochs=1000", *narrow, *FAST_CGAN[-3:],
                          "model.feature_build.max_samples=10000", "model.feature_build.epochs=2",
                          f"model.eval_samples={args.samples}", "callbacks.sample_quality.every_n_epochs=100000",
                          "model.monitor=null", "+callbacks.progress._target_=benchmarks.conditional_budget.Progress",
                          "+callbacks.progress._recursive_=false", "+callbacks.progress.data=${data}",
                          f"+callbacks.progress.cache_dir={out / 'cache'}", f"+callbacks.progress.seconds={args.seconds}",
                          f"+callbacks.progress.every={args.every or 'null'}",
                          f"+callbacks.progress.samples={args.samples}",
                          f"+callbacks.progress.path={out / 'progress.jsonl'}",
                          *[o for o in args.overrides if o != model]],
                         out / "run", data_dir=Path(args.data_dir).absolute())
    metrics = train(cfg)
    from benchmarks.conditional_budget import Progress as used  # the instance Hydra made is that module's, not __main__'s

    last = used.rows[-1] if used.rows else {}
    print("end", {"cpu_s": last.get("cpu_s"), "steps": last.get("steps")},
          {k: metrics[k] for k in KEYS if k in metrics}, flush=True)


if __name__ == "__main__":
    main()
