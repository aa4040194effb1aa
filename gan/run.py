"""Train a GAN from the Hydra config in `conf/`.

    python -m gan.run                                    # 1-D Gaussian GAN, our default recipe (no data needed)
    python -m gan.run experiment=gaussian_seed           # the "GANs in 50 lines" program as its documents give it
    python -m gan.run model=vanilla data=mnist           # seed 004's MLP GAN (MNIST under paths.data_dir)
    python -m gan.run model=dcgan data=tomjerry          # seed 002's DCGAN on a folder of frames
    python -m gan.run -m model.g_lr=1e-4,2e-4            # a sweep: one job folder per value under outputs/multirun
    python -m gan.run ckpt_path=outputs/.../checkpoints/last.ckpt   # resume exactly where a run stopped
    tensorboard --logdir outputs

`train(cfg)` is the plain function behind it; tests and sweepers call it and get the final metrics back.
"""

import json
import time
from pathlib import Path

import hydra
import pytorch_lightning as pl
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf

from gan.errors import GanError

CONFIG_DIR = str(Path(__file__).resolve().parent / "conf") if (Path(__file__).parent / "conf").is_dir() else str(
    Path(__file__).resolve().parent.parent / "conf"
)  # conf/ sits beside the package in a checkout and inside it in a wheel


def _instantiate_all(group: DictConfig | None) -> list:
    """Instantiate every entry of a config group that is a mapping of objects (callbacks, loggers)."""
    if not group:
        return []
    return [hydra.utils.instantiate(node) for node in group.values() if node is not None and "_target_" in node]


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured model on the configured data; write and return the final metrics."""
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    recipe = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    OmegaConf.save(recipe, output_dir / "config.yaml", resolve=True)  # the exact recipe of this run, resolved

    model = hydra.utils.instantiate(cfg.model)  # first: its checks name the keys a user sets (model.d_steps, ...)
    datamodule = hydra.utils.instantiate(cfg.data)
    loggers = _instantiate_all(cfg.get("logger"))
    trainer: pl.Trainer = hydra.utils.instantiate(
        cfg.trainer,
        callbacks=_instantiate_all(cfg.get("callbacks")),
        logger=loggers or False,
        # `trainer.max_steps` counts training steps; Lightning counts optimizer steps, d_steps + g_steps each.
        max_steps=_optimizer_steps(cfg.trainer.get("max_steps", -1), model),
    )
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(recipe, resolve=True))

    start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    metrics.update(model.evaluate())
    metrics["train_time_s"] = time.perf_counter() - start
    metrics["training_steps"] = model.training_steps_done
    if trainer.is_global_zero:
        (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics


def _optimizer_steps(training_steps: int | None, model) -> int:
    if training_steps is None or training_steps < 0:
        return -1
    return int(training_steps) * (model.hparams.d_steps + model.hparams.g_steps)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> float | None:
    try:
        metrics = train(cfg)
    except (GanError, InstantiationException) as error:
        # A problem the user can fix: say what it is and what to do, without a traceback wall.
        cause = error.__cause__ if isinstance(error, InstantiationException) and error.__cause__ else error
        raise SystemExit(f"error: {cause}") from None
    # Sweepers (Optuna) minimise or maximise the returned value: the run's main metric when it has one.
    monitor = cfg.model.get("monitor")
    return metrics.get(monitor) if monitor else None


if __name__ == "__main__":
    main()
