"""Training on a budget of CPU seconds, with the generator scored along the way (benchmarks/conditional_budget.py).

Lives in the package, not the benchmark, so that a run folder it trained stays loadable by `gan.sample` and
`gan.evaluate` (they build only this project's classes from a saved config.yaml).
"""

import json
import time
from pathlib import Path

import pytorch_lightning as pl

KEYS = ("class_accuracy", "intra_fid", "code_accuracy", "fid", "class_entropy", "mode_coverage")


class Progress(pl.Callback):
    """Stops training after `seconds` of training CPU time; scores the generator every `every` training CPU seconds
    and at each epoch's end (its own CPU time is not counted as training). Rows go to stdout and `path`."""

    rows: list = []

    def __init__(self, data, cache_dir: str, seconds: float, every: float | None, samples: int, path: str,
                 before: float = 0.0) -> None:
        """`before`: training CPU seconds a resumed run (ckpt_path=) had already had, added to what is reported."""
        self.data, self.cache_dir, self.seconds, self.every, self.samples = data, cache_dir, seconds, every, samples
        self.before = before
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
        row = {"cpu_s": round(self.before + self.used(), 1), "steps": pl_module.training_steps_done,
               "epochs": round(pl_module.training_steps_done / max(1, trainer.num_training_batches), 3), "when": when}
        tick = time.process_time()
        figures = self.evaluator.evaluate(pl_module)
        self.scoring += time.process_time() - tick
        row.update({k: round(float(figures[k]), 4) for k in KEYS if k in figures})
        Progress.rows.append(row)
        print(json.dumps(row), flush=True)
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
