"""Train a GAN from the Hydra config in `conf/`.

    python -m gan.run                                    # 1-D Gaussian GAN, our default recipe (no data needed)
    python -m gan.run experiment=gaussian_seed           # the "GANs in 50 lines" program as its documents give it
    python -m gan.run model=vanilla data=mnist           # the MNIST notebook's MLP GAN (MNIST under paths.data_dir)
    python -m gan.run model=dcgan data=tomjerry          # the Tom & Jerry notebook's DCGAN on a folder of frames
    python -m gan.run model.loss=wgan model.gradient_penalty=10      # the loss family: docs/losses.md
    python -m gan.run -m model.g_lr=1e-4,2e-4 model.d_lr=1e-4,2e-4   # a sweep: one job folder each, summary.csv
    python -m gan.run -m hparams_search=gaussian_optuna  # Optuna over the learning rates (pip install -e ".[optuna]")
    python -m gan.run resume=outputs/runs/<model>-<data>/<date>      # continue a run in place, exactly
    python -m gan.run ckpt_path=.../checkpoints/last.ckpt            # the same recipe from a checkpoint, new folder
    python -m gan.run paths.output_dir=my_run           # choose the run folder (hydra.run.dir=my_run says the same)
    python -m gan.run trainer=gpu_bf16                   # scaling: cpu, cpu_bf16, gpu, gpu_bf16, gpu_fp16, ddp, slurm
    tensorboard --logdir outputs

`trainer.max_steps` counts training steps (one D+G round each), never Lightning's optimizer steps.
`train(cfg)` is the plain function behind it; tests and sweepers call it and get the final metrics back.
"""

import contextlib
import importlib.util
import itertools
import json
import logging
import logging.handlers
import shlex
import sys
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from gan.console import quiet_lightning, resumed
from gan.errors import DataError, GanError
from gan.resume import (
    left_as_it_was,
    override_value,
    resolve_resume,
    resume_command,
    say_complete,
    steps_if_complete,
)
from gan.validate.config import check_run_keys
from gan.validate.preflight import preflight

CONFIG_DIR = str(Path(__file__).resolve().parent / "conf") if (Path(__file__).parent / "conf").is_dir() else str(
    Path(__file__).resolve().parent.parent / "conf"
)  # conf/ sits beside the package in a checkout and inside it in a wheel
# `threads=auto`: networks with fewer parameters than this (G and D together) train on one CPU thread.
SMALL_NETWORK = 200_000
# Optional extras: an override naming the first needs the module of the second, installed by the third.
EXTRAS = (("optuna", "hydra_plugins.hydra_optuna_sweeper", "optuna"), ("slurm", "hydra_plugins.hydra_submitit_launcher", "slurm"))


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


def _build(cfg: DictConfig, checkpoint: dict | None = None):
    """(model, datamodule, loggers, trainer, start step) from the config, checking what can be checked before any write."""
    import pytorch_lightning as pl
    from pytorch_lightning.strategies.launchers.subprocess_script import (
        _SubprocessScriptLauncher,
    )

    from gan.callbacks.safety import TrainingStepLimit
    from gan.checkpoint import check_fits, read_checkpoint

    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
    # Plain lists and dicts as arguments (not OmegaConf containers): hyperparameters in checkpoints must
    # unpickle under `torch.load(weights_only=True)`, which Lightning uses when resuming.
    model = hydra.utils.instantiate(cfg.model, _convert_="all")  # first: its checks name the keys a user sets
    datamodule = hydra.utils.instantiate(cfg.data, _convert_="all")
    if hasattr(datamodule, "check"):
        datamodule.check()  # missing data files are reported now, before a run folder exists
    start_step = 0
    if cfg.get("ckpt_path"):
        checkpoint = read_checkpoint(cfg.ckpt_path) if checkpoint is None else checkpoint  # a resume read it already
        check_fits(model, checkpoint, cfg.ckpt_path)
        start_step = int(checkpoint.get("global_step", 0))
        del checkpoint
    loggers = _instantiate_all(cfg.get("logger"))
    trainer: pl.Trainer = hydra.utils.instantiate(
        cfg.trainer,
        callbacks=[*_instantiate_all(cfg.get("callbacks")), TrainingStepLimit(cfg.trainer.get("max_steps", -1))],
        logger=loggers or False,
        max_steps=-1,  # `trainer.max_steps` counts training steps and is enforced by TrainingStepLimit
    )
    if isinstance(trainer.strategy.launcher, _SubprocessScriptLauncher) and not _is_launched_rank():
        # DDP re-runs this command for each further rank: they must write into this run's folder, not a new one.
        sys.argv.append(f"paths.output_dir={override_value(cfg.paths.output_dir)}")
    return model, datamodule, loggers, trainer, start_step  # start_step: Lightning's global_step it starts from


def _build_features(trainer, model) -> None:
    """The feature network behind the run's sample-quality figures, built now if it is missing
    (gan/callbacks/evaluation.py)."""
    for callback in trainer.callbacks:
        if hasattr(callback, "build_features"):
            callback.build_features(trainer, model)


def set_threads(threads: int | str | None, model) -> int:
    """torch's intra-op CPU threads for this process: `threads=N`, or by the size of the networks (`auto`).

    `auto`: one thread for networks under SMALL_NETWORK parameters (the Gaussian GAN, the 2-D mixtures), whose
    steps are too short to split: a second thread only waits for the first and, on a busy machine, for a core
    (docs/speed.md measures both); torch's default (one per core) for the image networks. `null`: torch's default.
    """
    import torch

    before = torch.get_num_threads()
    if threads == "auto":
        size = sum(p.numel() for p in model.parameters())
        threads = 1 if size < SMALL_NETWORK else None
    if threads is not None:
        torch.set_num_threads(int(threads))
    return before  # train() sets it back: a sweep's jobs, or tests, run one after another in one process


def _is_launched_rank() -> bool:
    """True in a process Lightning started for a further DDP rank (it sets LOCAL_RANK or the cluster's rank)."""
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    return bool(getattr(rank_zero_only, "rank", 0))


def _unwritable(output_dir: Path, error: OSError) -> DataError:
    return DataError(
        f"cannot write the run folder {output_dir} ({error.strerror or error}); choose a writable place with "
        "paths.output_dir=... or run from a folder you can write to."
    )


def _claim_dated_folder(cfg: DictConfig) -> list[Path]:
    """Makes the default dated run folder now, or `<date>_<time>_2`, `_3`, ... when another run started in the same
    second has that name; returns the folders it made, deepest first, for `_release` if the start fails.

    A folder named on the command line (`paths.output_dir=`, as DDP's further ranks get the first rank's), a sweep
    job's folder and a resumed run's are used as they are.
    """
    node = _hydra_node()
    named = any(o.split("=", 1)[0].lstrip("+~") == "paths.output_dir" for o in _task_overrides())
    if cfg.get("resume") or node is None or node.mode == RunMode.MULTIRUN or named:
        return []
    dated = Path(cfg.paths.output_dir)
    made = [p for p in reversed(dated.parents) if not p.exists()]
    try:
        dated.parent.mkdir(parents=True, exist_ok=True)
        for n in itertools.count(1):
            folder = dated if n == 1 else dated.with_name(f"{dated.name}_{n}")
            try:
                folder.mkdir()  # exclusive: of two runs after one name, one gets it and the other tries the next
                break
            except FileExistsError:
                continue
    except OSError as error:
        raise _unwritable(dated, error) from None
    with open_dict(cfg):
        cfg.paths.output_dir = str(folder)
    return [folder, *reversed(made)]


def _release(folders: list[Path]) -> None:
    """Removes the folders `_claim_dated_folder` made while they are empty: a failed start leaves nothing."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _make_run_folder(cfg: DictConfig, recipe: DictConfig, record: bool = True) -> tuple[Path, logging.Handler]:
    """Creates the run folder with config.yaml, .hydra/ and run.log; one clear error if it cannot be written.

    Further DDP ranks (`record=False`) only log, to `run.rank<N>.log`: the first rank keeps the record.
    """
    output_dir = Path(cfg.paths.output_dir)
    hydra_dir = output_dir / (f".hydra/resumed-{time.strftime('%Y-%m-%d_%H-%M-%S')}" if cfg.get("resume") else ".hydra")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        if not record:
            from pytorch_lightning.utilities.rank_zero import rank_zero_only

            handler = logging.FileHandler(output_dir / f"run.rank{rank_zero_only.rank}.log")
            handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
            logging.getLogger().addHandler(handler)
            return output_dir, handler
        hydra_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(recipe, output_dir / "config.yaml", resolve=True)  # the exact recipe of this run, resolved
        node = _hydra_node()
        if node is not None:  # Hydra's own record, as it would write it: the composed config, its node, overrides
            OmegaConf.save(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), hydra_dir / "config.yaml")
            OmegaConf.save(OmegaConf.create({"hydra": node}), hydra_dir / "hydra.yaml")
            OmegaConf.save(OmegaConf.create(_task_overrides()), hydra_dir / "overrides.yaml")
        handler = logging.FileHandler(output_dir / "run.log")
    except OSError as error:
        raise _unwritable(output_dir, error) from None
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    logging.getLogger().addHandler(handler)
    return output_dir, handler


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured model on the configured data; write and return the final metrics.

    Every check runs before the run folder is made, so a config or data error creates nothing. A resumed run that
    has reached its limits already is left as it is: its saved metrics are returned.
    """
    node = _hydra_node()
    cfg = resolve_resume(cfg, _task_overrides(), node.runtime.choices if node is not None else {})
    check_run_keys(cfg)
    quiet_lightning()  # Lightning's litlogger tip and pytree deprecation say nothing about this run
    with open_dict(cfg):  # resolved once: `${now:...}` must name one folder for the whole run
        cfg.paths.output_dir = str(Path(str(cfg.paths.output_dir)).expanduser().absolute())
    preflight(cfg)  # values, data files, device and output folder, before Lightning is imported
    checkpoint = None
    if cfg.get("resume"):
        from gan.checkpoint import read_checkpoint

        checkpoint = read_checkpoint(cfg.ckpt_path)
        saved = left_as_it_was(cfg, steps_if_complete(cfg, checkpoint))  # nothing written, no event file
        if saved is not None:
            _say_where(Path(cfg.paths.output_dir), _has_tensorboard(cfg))
            return saved
    claimed = _claim_dated_folder(cfg)
    recipe = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    early = logging.handlers.BufferingHandler(capacity=10_000)  # what is logged before run.log can exist
    logging.getLogger().addHandler(early)
    try:
        model, datamodule, loggers, trainer, start_step = _build(cfg, checkpoint)
        del checkpoint
        _build_features(trainer, model)  # one that cannot be built stops the run before its folder exists
        output_dir, log_file = _make_run_folder(cfg, recipe, record=not _is_launched_rank())
    except BaseException:
        _release(claimed)
        raise
    finally:
        logging.getLogger().removeHandler(early)
    for record in early.buffer:
        log_file.handle(record)
    threads_before = set_threads(cfg.get("threads"), model)
    try:
        return _fit(cfg, recipe, model, datamodule, loggers, trainer, output_dir, start_step)
    finally:
        import torch

        torch.set_num_threads(threads_before)
        logging.getLogger().removeHandler(log_file)
        log_file.close()


def _has_tensorboard(cfg: DictConfig) -> bool:
    return any(node is not None and str(node.get("_target_", "")).endswith("TensorBoardLogger")
               for node in (cfg.get("logger") or {}).values())


def _say_where(output_dir: Path, tensorboard: bool) -> None:
    curves = f"; curves: tensorboard --logdir {shlex.quote(str(output_dir))}" if tensorboard else ""
    print(f"Results in {output_dir}: metrics.json{curves}", flush=True)


def _fit(cfg, recipe, model, datamodule, loggers, trainer, output_dir: Path, start_step: int) -> dict[str, float]:
    from pytorch_lightning.loggers import TensorBoardLogger

    from gan.callbacks.sweep import log_final_hparams, run_hparams
    from gan.eval.evaluator import final_figures

    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(recipe, resolve=True))
    start, cpu_start = time.perf_counter(), time.process_time()
    with resumed() if cfg.get("resume") else contextlib.nullcontext():
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"), weights_only=True)
    steps = trainer.global_step // (model.hparams.d_steps + model.hparams.g_steps)
    if cfg.get("ckpt_path") and trainer.global_step == start_step:
        saved = left_as_it_was(cfg, steps) if cfg.get("resume") else None  # e.g. a time limit reached already
        if saved is not None:
            _say_where(output_dir, _has_tensorboard(cfg))
            return saved
        say_complete(cfg, steps)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    metrics.update(final_figures(model, cfg, build=not trainer.fast_dev_run))  # gan/eval/evaluator.py
    metrics["train_time_s"] = time.perf_counter() - start
    metrics["train_cpu_s"] = time.process_time() - cpu_start  # this process's CPU time: not inflated by a busy machine
    # from the trainer: after ddp_spawn the model in this process is no longer attached to it
    metrics["training_steps"] = steps
    if trainer.is_global_zero:
        (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        tensorboard = [logger for logger in loggers if isinstance(logger, TensorBoardLogger)]
        for logger in tensorboard:  # TensorBoard's HParams tab: this run's hyperparameters beside its final figures
            params = run_hparams(cfg, _task_overrides(), _hydra_node())
            log_final_hparams(logger.log_dir, params, metrics, step=steps)
        _say_where(output_dir, bool(tensorboard))
    return metrics


def _is_signal_stop(error: BaseException) -> bool:
    """Lightning's SIGTERM stop, a SystemExit (Lightning is imported only once a run needs it)."""
    exceptions = sys.modules.get("pytorch_lightning.utilities.exceptions")
    return exceptions is not None and isinstance(error, exceptions.SIGTERMException)


def _interrupted(cfg: DictConfig) -> str:
    """What a Ctrl-C that stopped the run at once leaves, and how to go on."""
    output_dir = Path(OmegaConf.select(cfg, "resume") or cfg.paths.output_dir)
    last = output_dir / "checkpoints" / "last.ckpt"
    if last.is_file():
        return (f"error: interrupted; the last checkpoint {last} is kept. "
                f"Continue with: {resume_command(output_dir)}")
    return "error: interrupted before any checkpoint was saved; nothing to resume. Run the command again to start."


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> float | None:
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        metrics = train(cfg)
    except KeyboardInterrupt:  # a second Ctrl-C (the first one stops cleanly at a step boundary)
        raise SystemExit(_interrupted(cfg)) from None
    except SystemExit as stop:
        if _is_signal_stop(stop):  # a SystemExit whose code is None (0): the run did not finish
            raise SystemExit(1) from None  # GracefulStop has saved last.ckpt and said how to resume
        raise
    except (GanError, InstantiationException) as error:
        # A problem the user can fix: say what it is and what to do, without a traceback wall.
        cause = error.__cause__ if isinstance(error, InstantiationException) and error.__cause__ else error
        message = f"error: {cause}"
        if not multirun:
            raise SystemExit(message) from None
    except Exception as error:
        if not multirun:
            raise
        # Unforeseen: still one job's row, so the sweep goes on and writes its summary; the traceback beside it.
        trace = Path(HydraConfig.get().runtime.output_dir) / "traceback.txt"
        trace.write_text(traceback.format_exc())
        first = (str(error).strip().splitlines() or [""])[0]
        message = f"error: {type(error).__name__}: {first} (traceback in {trace})"
    else:
        # Sweepers (Optuna) minimise or maximise the returned value: the run's main metric when it has one.
        monitor = cfg.model.get("monitor")
        return metrics.get(monitor) if monitor else None
    # In a sweep one bad corner (a NaN at a high lr, a bad value) must not end the others: record it, report NaN.
    print(message, file=sys.stderr, flush=True)
    job_dir = Path(HydraConfig.get().runtime.output_dir)
    (job_dir / "error.txt").write_text(message + "\n")
    (job_dir / ".hydra").mkdir(exist_ok=True)  # the sweep summary lists the job by its overrides
    OmegaConf.save(OmegaConf.create(_task_overrides()), job_dir / ".hydra" / "overrides.yaml")
    return float("nan")


def _missing_extra(argv: list[str]) -> str | None:
    """The install line for an optional extra that an override needs and that is not installed."""
    for word, module, extra in EXTRAS:
        if any(word in arg for arg in argv if "=" in arg) and not _installed(module):
            return f'error: this command needs the optional `{extra}` extra; install it with: pip install -e ".[{extra}]"'
    return None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing too
        return False


def _run_dir_as_output_dir(argv: list[str]) -> list[str]:
    """`hydra.run.dir=X`, Hydra's way to choose a run's folder, as `paths.output_dir=X`, the key gan.run writes to.

    Hydra would make the folder itself before any check; as `paths.output_dir` it is made only once the checks pass.
    """
    def key(arg: str) -> str:
        return arg.split("=", 1)[0].lstrip("+~")

    given = [arg for arg in argv if "=" in arg and key(arg) == "hydra.run.dir"]
    if not given or any(arg.startswith("hydra.job.name=train_ddp_process_") for arg in argv):
        return argv  # none given, or Lightning's DDP re-launch of this command for another rank: as Hydra reads it
    if any(arg in ("-m", "--multirun") for arg in argv):
        raise SystemExit("error: hydra.run.dir names one run's folder; a sweep's folder is hydra.sweep.dir=...")
    if len(given) > 1 or any("=" in arg and key(arg) == "paths.output_dir" for arg in argv):
        raise SystemExit("error: hydra.run.dir and paths.output_dir both name the run folder; give it once, "
                         "as paths.output_dir=...")
    return [f"paths.output_dir={given[0].split('=', 1)[1]}" if arg is given[0] else arg for arg in argv]


def cli() -> None:
    """`python -m gan.run`: Hydra's main, with one clear line for a missing extra or a Ctrl-C at start-up."""
    message = _missing_extra(sys.argv[1:])
    if message:
        raise SystemExit(message)
    sys.argv[1:] = _run_dir_as_output_dir(sys.argv[1:])
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("error: interrupted during start-up; nothing was written.") from None


if __name__ == "__main__":
    cli()
