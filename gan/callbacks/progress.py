"""What a run shows while it trains: curves at least once per epoch, and plain lines where a bar cannot redraw."""

import sys
import time
import warnings

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_only


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

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module) -> None:
        self._epoch_start, self._batches = time.perf_counter(), 0

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self._batches += 1

    @rank_zero_only
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        if self.active:
            print(epoch_line(trainer, self._batches, time.perf_counter() - self._epoch_start), flush=True)


def epoch_line(trainer: pl.Trainer, batches: int, seconds: float) -> str:
    """'Epoch 3/20: 50 batches in 0:00:04; train/d_loss 1.162, ...' (epochs counted from 1; no total if unbounded)."""
    epoch = f"{trainer.current_epoch + 1}" + (f"/{trainer.max_epochs}" if (trainer.max_epochs or -1) > 0 else "")
    minutes, secs = divmod(round(seconds), 60)
    text = f"Epoch {epoch}: {batches} batches in {minutes // 60}:{minutes % 60:02d}:{secs:02d}"
    figures = ", ".join(f"{key} {float(value):.3f}" for key, value in trainer.progress_bar_metrics.items())
    return f"{text}; {figures}" if figures else text
