"""Training on a budget of CPU seconds, with the generator scored along the way (benchmarks/conditional_budget.py,
benchmarks/mnist_quality.py --cpu-seconds).

Lives in the package, not a benchmark, so that a run folder it trained stays loadable by `gan.sample` and
`gan.evaluate` (they build only this project's classes from a saved config.yaml).
"""

import json
import time
from pathlib import Path

import pytorch_lightning as pl

KEYS = ("class_accuracy", "intra_fid", "code_accuracy", "fid", "class_entropy", "mode_coverage")


class Progress(pl.Callback):
    """Stops training after `seconds` of training CPU time and scores the generator every `every` training CPU
    seconds, when the budget is spent, before the first step (`at_start`), at each epoch's end (`at_epoch_end`) and
    when training ends on its own step or epoch limit before the budget (`at_end`).

    Both clocks, process CPU seconds (all threads) and wall seconds, count training only: the time spent scoring is
    taken off them. Each row (cpu_s, wall_s, steps, epochs, when, and the evaluator's figures) goes to `rows`, to
    stdout, and to `path` when one is given.
    """

    last = None  # the latest instance, for a script to read its rows after `train`

    def __init__(self, data, cache_dir: str, seconds: float, every: float | None = None, samples: int = 2000,
                 path: str | None = None, before: float = 0.0, at_start: bool = False, at_epoch_end: bool = True,
                 at_end: bool = False, checkpoints: str | None = None) -> None:
        """`before`: training CPU seconds a resumed run (ckpt_path=) had already had, added to what is reported;
        `checkpoints`: a folder where each scored moment is also saved as `cpu-<seconds>.ckpt`, to score later."""
        self.data, self.cache_dir, self.seconds, self.every, self.samples = data, cache_dir, seconds, every, samples
        self.path, self.before, self.at_start, self.at_epoch_end = path and Path(path), before, at_start, at_epoch_end
        self.at_end, self.checkpoints = at_end, checkpoints and Path(checkpoints)
        self.rows: list[dict] = []
        Progress.last = self

    def on_train_start(self, trainer, pl_module) -> None:
        self.evaluator = pl_module.evaluator(data=self.data, cache_dir=self.cache_dir, samples=self.samples)
        self.evaluator.prepare()
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        self.next = self.every or float("inf")
        self.rows = []
        if self.at_start:
            self.score(trainer, pl_module, "start")

    def used(self) -> float:
        return time.process_time() - self.cpu0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        used = self.used()
        if used >= min(self.next, self.seconds):
            while self.next <= used:
                self.next += self.every
            trainer.should_stop = used >= self.seconds
            self.score(trainer, pl_module, "budget" if trainer.should_stop else "interval")

    def _scored_here(self, pl_module) -> bool:
        return bool(self.rows) and self.rows[-1]["steps"] == pl_module.training_steps_done

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self.at_epoch_end and not self._scored_here(pl_module):
            self.score(trainer, pl_module, "epoch end")

    def on_train_end(self, trainer, pl_module) -> None:
        if self.at_end and not self._scored_here(pl_module):
            self.score(trainer, pl_module, "end")

    def score(self, trainer, pl_module, when: str) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        steps = pl_module.training_steps_done
        row = {"cpu_s": round(self.before + cpu - self.cpu0, 1), "wall_s": round(wall - self.wall0, 1), "steps": steps,
               "epochs": round(steps / max(1, trainer.num_training_batches), 3), "when": when}
        figures = self.evaluator.evaluate(pl_module)
        row.update(figures)
        if self.checkpoints:
            trainer.save_checkpoint(self.checkpoints / f"cpu-{round(row['cpu_s']):05d}.ckpt")
        self.cpu0 += time.process_time() - cpu  # scoring is not training
        self.wall0 += time.perf_counter() - wall
        self.rows.append(row)
        shown = ("cpu_s", "wall_s", "steps", "when", *KEYS, "precision", "recall")
        print(json.dumps({k: row[k] for k in shown if k in row}), flush=True)
        if self.path:
            with self.path.open("a") as f:
                f.write(json.dumps(row) + "\n")
