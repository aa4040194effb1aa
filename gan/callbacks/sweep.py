"""Comparing runs: TensorBoard's HParams entry per run and the table at the end of a multirun.

Each job of `python -m gan.run -m ...` writes `<job>/metrics.json` and `<job>/.hydra/overrides.yaml`;
`SweepSummary` (a Hydra callback, registered in conf/config.yaml) reads them back when the sweep ends,
so it works the same whether jobs ran in this process, in subprocesses or on SLURM.
"""

import csv
import json
import math
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

SUMMARY_CSV = "summary.csv"
# The recipe keys every run shows in the HParams tab, besides whatever its command line overrode.
HPARAM_KEYS = ("model.g_lr", "model.d_lr", "model.d_steps", "model.g_steps", "model.loss", "model.ema_decay", "seed")
NOT_HPARAMS = ("paths.", "hydra.", "ckpt_path", "resume", "trainer.enable_progress_bar")


def run_hparams(cfg: DictConfig, overrides: list[str], hydra_cfg: DictConfig | None = None) -> dict:
    """A flat {key: scalar} of what tells this run apart: its overrides plus the main recipe keys."""
    keys = [o.split("=", 1)[0].lstrip("+~") for o in overrides if "=" in o]
    keys = [k for k in dict.fromkeys([*keys, *HPARAM_KEYS]) if not k.startswith(NOT_HPARAMS)]
    choices = hydra_cfg.runtime.choices if hydra_cfg is not None else {}
    flat = {}
    for key in keys:
        value = choices[key] if key in choices else OmegaConf.select(cfg, key, default=None)  # model=dcgan
        flat[key] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return flat


def log_final_hparams(log_dir: str | Path, params: dict, metrics: dict[str, float], step: int) -> None:
    """Writes TensorBoard's HParams entry for the run in `log_dir`: `params` with the final `metrics`.

    The metrics are logged as `final/<name>` scalars at the last step, which is what the HParams tab
    reads; Lightning's `log_hyperparams(params, metrics)` would put them at step 0 of the training curves.
    """
    from torch.utils.tensorboard import SummaryWriter  # here: Hydra loads this module (SweepSummary) at start-up
    from torch.utils.tensorboard.summary import hparams

    finite = {f"final/{k}": float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    writer = SummaryWriter(log_dir=str(log_dir))
    try:
        for summary in hparams(params, finite):  # experiment, session start, session end
            writer.file_writer.add_summary(summary)
        for key, value in finite.items():
            writer.add_scalar(key, value, global_step=step)
    finally:
        writer.close()


def collect_jobs(sweep_dir: Path) -> list[dict]:
    """One row per job folder under `sweep_dir`: its overrides and final metrics (empty if it failed)."""
    rows = []
    for overrides_file in sorted(sweep_dir.glob("*/.hydra/overrides.yaml")):
        job_dir = overrides_file.parent.parent
        metrics_file = job_dir / "metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        error_file = job_dir / "error.txt"
        rows.append(
            {
                "job": job_dir.name,
                "overrides": " ".join(OmegaConf.load(overrides_file)),
                "status": "ok" if metrics else (error_file.read_text().strip() if error_file.is_file() else "failed"),
                **metrics,
            }
        )
    return rows


def rank_jobs(rows: list[dict], monitor: str | None, mode: str = "min") -> list[dict]:
    """Best first by `monitor` (min or max); jobs without the metric (failed, NaN) go last."""
    def key(row):
        value = row.get(monitor) if monitor else None
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return (1, 0.0)
        return (0, value if mode == "min" else -value)

    return sorted(rows, key=key)


def write_summary(rows: list[dict], monitor: str | None, path: Path) -> str:
    """Writes the CSV and returns the printed table (job, monitor, overrides, a few headline figures)."""
    first = ["job", *([monitor] if monitor else []), "status", "overrides"]
    rest = sorted({k for row in rows for k in row} - set(first))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=first + rest)
        writer.writeheader()
        writer.writerows(rows)
    # the job folder's name already spells its overrides; the CSV keeps them as a column of their own
    shown = first[:-1] + [k for k in ("train/d_loss", "train/g_loss", "training_steps", "train_time_s") if k in rest]
    table = [shown] + [[_cell(row.get(k)) for k in shown] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(shown))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in table)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


class SweepSummary(Callback):
    """At the end of a multirun: `<sweep dir>/summary.csv` and a printed table, best job first."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = collect_jobs(sweep_dir)
        if not rows:
            return
        monitor = OmegaConf.select(config, "model.monitor", default=None)
        mode = OmegaConf.select(config, "model.monitor_mode", default="min")
        ranked = rank_jobs(rows, monitor, mode)
        table = write_summary(ranked, monitor, sweep_dir / SUMMARY_CSV)
        order = f"best first by {monitor} ({mode})" if monitor else "in job order (the model names no main metric)"
        print(f"\nSweep summary, {order}; also in {sweep_dir / SUMMARY_CSV}\n{table}", flush=True)
