"""A callback for benchmarks/gpu_check.sh: step rate, peak GPU memory and the last losses of a run, as JSON.

    python -m gan.run trainer=gpu +callbacks.gpu_meter._target_=benchmarks.gpu_meter.GpuMeter \
        +callbacks.gpu_meter.out=meter.json
"""

import json
import math
import statistics
import time
from pathlib import Path

import pytorch_lightning as pl
import torch


class GpuMeter(pl.Callback):
    """images/s from the median step time after `warmup` steps (all ranks' images), peak memory of rank 0's GPU."""

    def __init__(self, out: str, warmup: int = 20) -> None:
        self.out, self.warmup, self.ticks, self.batch = Path(out), warmup, [], 0

    def on_train_start(self, trainer, pl_module) -> None:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # for the measurement only: the step's kernels are done
        self.ticks.append(time.perf_counter())
        self.batch = len(pl_module.real_from_batch(batch))

    def on_train_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero:
            return
        steps = [b - a for a, b in zip(self.ticks[self.warmup:], self.ticks[self.warmup + 1:])]
        losses = {k: float(v) for k, v in trainer.callback_metrics.items() if k in ("train/d_loss", "train/g_loss")}
        self.out.write_text(json.dumps({
            "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
            "precision": str(trainer.precision),
            "world_size": trainer.world_size,
            "steps": len(self.ticks),
            "images_per_s": self.batch * trainer.world_size / statistics.median(steps) if steps else None,
            "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
            "losses": losses,
            "finite": all(math.isfinite(v) for v in losses.values()) and bool(losses),
        }) + "\n")
