"""What a run shows while it trains: curves at least once per epoch, plain lines where a bar cannot redraw, and
how long the whole run will take."""

import logging
import math
import sys
import time
import warnings

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_only

from gan.callbacks.safety import TrainingStepLimit
from gan.steps import planned_training_steps

log = logging.getLogger(__name__)


class LogIntervalPerEpoch(pl.Callback):
    """Caps `trainer.log_every_n_steps` at an epoch's batches, so that a small data set (a folder of a few dozen
    images, 1-4 batches an epoch) still writes its curves every epoch, as Lightning advises. Its warning that the
    interval is too long is then moot and left out (Lightning checks before any callback can act)."""

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        warnings.filterwarnings("ignore", message=r"The number of training batches \(\d+\) is smaller than the logging "
                                r"interval Trainer\(log_every_n_steps=\d+\)")

    def on_train_start(self, trainer: pl.Trainer, pl_module) -> None:
        batches = trainer.num_training_batches
        if 0 < batches < trainer.log_every_n_steps:  # never 0 (no logging) and never for an endless epoch (inf)
            trainer.log_every_n_steps = int(batches)


def redraws_in_place() -> bool:
    """Whether stdout can show a live bar: a terminal or a notebook, not a file or a pipe (`> log.txt`, `| tee`)."""
    try:
        from rich.console import Console
    except ImportError:  # Lightning then draws tqdm's bar, which needs a terminal as well
        return sys.stdout.isatty()
    console = Console()  # rich's own judgement, which also honours FORCE_COLOR and TTY_COMPATIBLE
    return console.is_terminal or console.is_jupyter


class EpochLines(pl.Callback):
    """In a terminal, leaves Lightning's live bar alone. Elsewhere turns it off, since a file keeps only its last
    frame, wrapped over a dozen lines, and prints instead at each epoch's end, on one line, what the bar shows:

        Epoch 3/20: 50 batches in 0:00:04; train/d_loss 1.162, train/d_real 0.527, train/d_fake 0.381, ...

    A run started with `trainer.enable_progress_bar=false` prints neither.
    """

    def __init__(self) -> None:
        self.active = False
        self._epoch_start, self._batches = 0.0, 0

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        bar, self.active = trainer.progress_bar_callback, False
        if bar is None or redraws_in_place():
            return
        bar.disable()
        # A run whose own status line comes every epoch (the Gaussian GAN's) says it once, not twice.
        self.active = not any(getattr(callback, "status_each_epoch", lambda _: False)(pl_module)
                              for callback in trainer.callbacks)

    def on_train_start(self, trainer: pl.Trainer, pl_module) -> None:
        # A run resumed in the middle of an epoch gets no on_train_epoch_start for it: its line counts from here.
        self._epoch_start, self._batches = time.perf_counter(), 0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module) -> None:
        self._epoch_start, self._batches = time.perf_counter(), 0

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self._batches += 1

    @rank_zero_only
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        if self.active:
            print(epoch_line(trainer, self._batches, time.perf_counter() - self._epoch_start), flush=True)


def epoch_line(trainer: pl.Trainer, batches: int, seconds: float) -> str:
    """'Epoch 3/20: 50 batches in 0:00:04; train/d_loss 1.162, ...' (epochs counted from 1). Where the step limit
    ends the run before the epochs would (`model=dcgan data=tomjerry`: 6,000 steps, max_epochs 100000 only a
    ceiling), the total is in steps: 'Epoch 3, step 150/6000: ...'."""
    planned, per_epoch = planned_training_steps(trainer), trainer.num_training_batches
    by_epochs = (trainer.max_epochs or -1) > 0 and (
        planned is None or per_epoch == float("inf") or trainer.max_epochs * int(per_epoch) <= planned)
    epoch = f"{trainer.current_epoch + 1}" + (f"/{trainer.max_epochs}" if by_epochs else "")
    done = getattr(trainer.lightning_module, "training_steps_done", None)
    if not by_epochs and planned is not None and done is not None:
        epoch += f", step {done}/{planned}"
    minutes, secs = divmod(round(seconds), 60)
    text = f"Epoch {epoch}: {batches} batches in {minutes // 60}:{minutes % 60:02d}:{secs:02d}"
    eta = next((c.eta() for c in trainer.callbacks if isinstance(c, RunTime)), None)
    text += f", run ETA {eta}" if eta else ""
    figures = ", ".join(f"{key} {float(value):.3f}" for key, value in trainer.progress_bar_metrics.items())
    return f"{text}; {figures}" if figures else text


class RunTime(pl.Callback):
    """How long the whole run takes: after `measure_steps` training steps, one line with the estimate (from their
    speed, the first step left out as warm-up), saying when a CPU run will take hours and how to use a GPU:

        this run: ~3 h 10 min on this CPU (6,000 steps at 0.53 steps/s); on a GPU: add trainer=gpu

    and, for the rest of the run, an ETA of its end (`eta` in the progress bar and the epoch lines), from the
    average speed so far, evaluations included. The end is the nearer of trainer.max_steps (training steps)
    and trainer.max_epochs; a run with neither gets no estimate.
    """

    HOURS_ON_CPU = 3600.0  # from this estimate on, a CPU run is told about trainer=gpu

    def __init__(self, measure_steps: int = 20) -> None:
        self.measure_steps = int(measure_steps)
        self.total: float = math.inf
        self._start = self._first = None  # (time, steps done) at train start and after the first (warm-up) step
        self._done = 0
        self.announced = False

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        bar = trainer.progress_bar_callback
        if bar is not None:
            shown = bar.get_metrics  # the bar's own items, and the run's ETA after them
            bar.get_metrics = lambda trainer, module: {**shown(trainer, module), **({"eta": self.eta()} if self.eta()
                                                                                   else {})}

    def on_train_start(self, trainer: pl.Trainer, pl_module) -> None:
        step_limit = next((c.max_steps for c in trainer.callbacks if isinstance(c, TrainingStepLimit)), -1)
        epochs, batches = trainer.max_epochs, trainer.num_training_batches
        by_epochs = epochs * batches if epochs is not None and epochs >= 0 else math.inf
        self.total = min(by_epochs, step_limit if step_limit >= 0 else math.inf)
        self._done = pl_module.training_steps_done
        self._start, self._first, self.announced = (time.perf_counter(), self._done), None, False

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self._done = pl_module.training_steps_done
        now = time.perf_counter()
        if self._first is None:
            self._first = (now, self._done)
            return
        measured = self._done - self._first[1]
        if not self.announced and measured >= self.measure_steps and not trainer.fast_dev_run:
            self.announced = True
            self.announce(trainer, pl_module, measured / max(now - self._first[0], 1e-9))

    @rank_zero_only
    def announce(self, trainer: pl.Trainer, pl_module, rate: float) -> None:
        line, slow = estimate_line(self.total, self._start[1], rate, pl_module.device.type, self.HOURS_ON_CPU)
        (log.warning if slow else log.info)(line)

    def eta(self) -> str | None:
        """The time left, from the average speed since train start ("0:12:40"); None before a measure or unbounded."""
        if self._start is None or self._first is None or not math.isfinite(self.total):
            return None
        done = self._done - self._start[1]
        if done < 2:
            return None
        left = max(self.total - self._done, 0) * (time.perf_counter() - self._start[0]) / done
        minutes, secs = divmod(round(left), 60)
        return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def estimate_line(total: float, done: int, rate: float, device: str, hours: float = 3600.0) -> tuple[str, bool]:
    """(the estimate line, whether it is a CPU run of `hours` seconds or more): `total` training steps, `done` of
    them before this start, at `rate` steps/s on `device` ("cpu", "cuda", ...)."""
    where = "this CPU" if device == "cpu" else f"this {device.upper()}"
    if not math.isfinite(total):
        return f"this run has no step or epoch limit; it trains at {rate:.3g} steps/s on {where}", False
    left = max(total - done, 0)
    seconds = left / rate
    line = f"this run: ~{duration(seconds)} on {where} ({int(left):,} steps at {rate:.3g} steps/s)"
    slow = device == "cpu" and seconds >= hours
    return (f"{line}; on a GPU: add trainer=gpu" if slow else line), slow


def duration(seconds: float) -> str:
    """'3 h 10 min', '12 min', '40 s': rounded to what a person plans by."""
    if seconds >= 3600:
        hours, minutes = divmod(round(seconds / 60), 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if seconds >= 60:
        return f"{round(seconds / 60)} min"
    return f"{max(round(seconds), 1)} s"
