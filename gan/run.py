"""Train a GAN from the Hydra config in `conf/`.

    python -m gan.run                                    # 1-D Gaussian GAN, our default recipe (no data needed)
    python -m gan.run experiment=gaussian_seed           # the "GANs in 50 lines" program as its documents give it
    python -m gan.run model=vanilla data=mnist           # seed 004's MLP GAN (MNIST under paths.data_dir)
    python -m gan.run model=dcgan data=tomjerry          # seed 002's DCGAN on a folder of frames
    python -m gan.run -m model.g_lr=1e-4,2e-4 model.d_lr=1e-4,2e-4   # a sweep: one job folder each, summary.csv
    python -m gan.run -m hparams_search=gaussian_optuna  # Optuna over the learning rates (pip install -e ".[optuna]")
    python -m gan.run resume=outputs/runs/<model>-<data>/<date>      # continue a run in place, exactly
    python -m gan.run ckpt_path=.../checkpoints/last.ckpt            # the same recipe from a checkpoint, new folder
    python -m gan.run trainer=gpu_bf16                   # scaling: cpu, cpu_bf16, gpu, gpu_bf16, gpu_fp16, ddp, slurm
    tensorboard --logdir outputs

`trainer.max_steps` counts training steps (one D+G round each), never Lightning's optimizer steps.
`train(cfg)` is the plain function behind it; tests and sweepers call it and get the final metrics back.
"""

import json
import sys
import time
from pathlib import Path

import hydra
import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import InstantiationException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.utilities.exceptions import SIGTERMException

from gan.callbacks.safety import TrainingStepLimit
from gan.callbacks.sweep import log_final_hparams, run_hparams
from gan.console import quiet_lightning
from gan.errors import ConfigError, DataError, GanError
from gan.evaluation import final_figures

CONFIG_DIR = str(Path(__file__).resolve().parent / "conf") if (Path(__file__).parent / "conf").is_dir() else str(
    Path(__file__).resolve().parent.parent / "conf"
)  # conf/ sits beside the package in a checkout and inside it in a wheel
# Overrides that say where a run is, not what it is: never replayed onto a resumed recipe.
PLACE_KEYS = ("resume", "ckpt_path", "paths.output_dir")


def _instantiate_all(group: DictConfig | None) -> list:
    """Instantiate every entry of a config group that is a mapping of objects (callbacks, loggers)."""
    if not group:
        return []
    return [hydra.utils.instantiate(node) for node in group.values() if node is not None and "_target_" in node]


def _hydra_node() -> DictConfig | None:
    """Hydra's own config of this run (overrides, group choices); None when called outside Hydra."""
    return HydraConfig.get() if HydraConfig.initialized() else None


def _task_overrides() -> list[str]:
    """The command line's overrides, e.g. ["model.g_lr=1e-4", "trainer=gpu"]."""
    node = _hydra_node()
    return list(node.overrides.task) if node is not None else []


def resolve_resume(cfg: DictConfig) -> DictConfig:
    """With `resume=<run dir>`: that run's saved recipe, its last.ckpt, and its folder for the output.

    Key overrides given with `resume` (e.g. `trainer.max_epochs=100` to train longer) apply on top of
    the saved recipe; a different group choice (`model=...`) would be another run, so it is refused.
    """
    if not cfg.get("resume"):
        return cfg
    run_dir = Path(cfg.resume).expanduser()
    ckpt, saved = run_dir / "checkpoints" / "last.ckpt", run_dir / "config.yaml"
    if not ckpt.is_file() or not saved.is_file():
        raise DataError(
            f"resume={run_dir}: expected a run folder of `python -m gan.run` with config.yaml and "
            "checkpoints/last.ckpt (e.g. outputs/runs/gaussian-gaussian/<date>); for a single file use ckpt_path=."
        )
    recipe = OmegaConf.load(saved)
    choices = _hydra_node().runtime.choices if _hydra_node() is not None else {}
    for override in OverridesParser.create().parse_overrides(_task_overrides()):
        key = override.key_or_group
        if key in PLACE_KEYS or key.startswith("hydra"):
            continue
        if key in choices or isinstance(OmegaConf.select(recipe, key), DictConfig):
            raise ConfigError(
                f"resume= continues the saved recipe of {run_dir}; `{key}=...` would change it. Drop it, or start "
                f"a new run from the checkpoint: python -m gan.run {key}=... ckpt_path={ckpt}"
            )
        OmegaConf.update(recipe, key, override.value(), force_add=True)
    with open_dict(recipe):
        recipe.paths.output_dir = str(run_dir)  # keep writing into the same run: one TensorBoard run, one folder
        recipe.ckpt_path, recipe.resume = str(ckpt), str(run_dir)
        for node in (recipe.get("logger") or {}).values():  # CSVLogger deletes an existing metrics.csv: new version
            if node is not None and str(node.get("_target_", "")).endswith("CSVLogger"):
                node.version = f"resumed-{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    return recipe


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured model on the configured data; write and return the final metrics."""
    quiet_lightning()  # Lightning's litlogger tip and pytree deprecation say nothing about this run
    cfg = resolve_resume(cfg)
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    recipe = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    OmegaConf.save(recipe, output_dir / "config.yaml", resolve=True)  # the exact recipe of this run, resolved

    # Plain lists and dicts as arguments (not OmegaConf containers): hyperparameters in checkpoints must
    # unpickle under `torch.load(weights_only=True)`, which Lightning uses when resuming.
    model = hydra.utils.instantiate(cfg.model, _convert_="all")  # first: its checks name the keys a user sets
    datamodule = hydra.utils.instantiate(cfg.data, _convert_="all")
    loggers = _instantiate_all(cfg.get("logger"))
    trainer: pl.Trainer = hydra.utils.instantiate(
        cfg.trainer,
        callbacks=[*_instantiate_all(cfg.get("callbacks")), TrainingStepLimit(cfg.trainer.get("max_steps", -1))],
        logger=loggers or False,
        max_steps=-1,  # `trainer.max_steps` counts training steps and is enforced by TrainingStepLimit
    )
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(recipe, resolve=True))

    start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    metrics.update(final_figures(model, cfg, build=not trainer.fast_dev_run))  # gan/evaluation.py
    metrics["train_time_s"] = time.perf_counter() - start
    # from the trainer: after ddp_spawn the model in this process is no longer attached to it
    steps = metrics["training_steps"] = trainer.global_step // (model.hparams.d_steps + model.hparams.g_steps)
    if trainer.is_global_zero:
        (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        for logger in loggers:  # TensorBoard's HParams tab: this run's hyperparameters beside its final figures
            if isinstance(logger, TensorBoardLogger):
                params = run_hparams(cfg, _task_overrides(), _hydra_node())
                log_final_hparams(logger.log_dir, params, metrics, step=steps)
        print(f"Results in {output_dir}: metrics.json; curves: tensorboard --logdir {output_dir}", flush=True)
    return metrics


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> float | None:
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        metrics = train(cfg)
    except SIGTERMException:
        raise SystemExit(1) from None  # GracefulStop has saved last.ckpt and said how to resume
    except (GanError, InstantiationException) as error:
        # A problem the user can fix: say what it is and what to do, without a traceback wall.
        cause = error.__cause__ if isinstance(error, InstantiationException) and error.__cause__ else error
        message = f"error: {cause}"
        if not multirun:
            raise SystemExit(message) from None
        # In a sweep one bad corner (a NaN at a high lr) must not end the others: record it, report NaN.
        print(message, file=sys.stderr, flush=True)
        Path(HydraConfig.get().runtime.output_dir, "error.txt").write_text(message + "\n")
        return float("nan")
    # Sweepers (Optuna) minimise or maximise the returned value: the run's main metric when it has one.
    monitor = cfg.model.get("monitor")
    return metrics.get(monitor) if monitor else None


if __name__ == "__main__":
    main()
