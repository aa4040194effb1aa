"""`resume=<run folder>`: the run's saved recipe, made to work where the folder and its data are now.

A run folder is self-contained: moved or copied, it resumes into itself (`relocate`); its data are read
where `paths.data_dir=` or `$GAN_DATA_DIR` say, else where the run first read them; overrides of keys apply on top,
and a group choice only when it is the run's own. A run that has reached its limits already is left as it is.
No torch or Lightning here: `gan.run` calls this before either is imported.
"""

import json
import os
import re
import shlex
import sys
import time
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict

from gan.errors import ConfigError, DataError
from gan.validate import options
from gan.validate.config import check_targets

# Overrides that say where a run and its data are, not what it is: never replayed as such onto a resumed recipe.
PLACE_KEYS = ("resume", "ckpt_path", "paths.output_dir", "paths.data_dir")


def resolve_resume(cfg: DictConfig, task_overrides: list[str], choices) -> DictConfig:
    """With `resume=<run dir>`: that run's saved recipe, its last.ckpt, and its folder for the output.

    `task_overrides` are the command line's overrides and `choices` its group choices (Hydra's
    `runtime.choices`). Key overrides (e.g. `trainer.max_epochs=100` to train longer) apply on top of the saved
    recipe; a group choice other than the run's own (`model=...`) would be another run, so it is refused.
    The folder may have been moved or copied: every path of the recipe is re-derived from where it is now.
    """
    if not cfg.get("resume"):
        return cfg
    run_dir = Path(os.path.abspath(Path(cfg.resume).expanduser()))
    ckpt, saved = run_dir / "checkpoints" / "last.ckpt", run_dir / "config.yaml"
    if not ckpt.is_file() or not saved.is_file():
        raise DataError(
            f"resume={cfg.resume}: expected a run folder of `python -m gan.run` with config.yaml and "
            "checkpoints/last.ckpt (e.g. outputs/runs/gaussian-gaussian/<date>); for a single file use ckpt_path=."
        )
    overrides = OverridesParser.create().parse_overrides(task_overrides)
    try:
        recipe = OmegaConf.load(saved)
        recipe = relocate(recipe, str(run_dir), _data_dir(cfg, recipe, run_dir, overrides))
    except Exception as error:  # noqa: BLE001 - YAML errors come in many types
        raise DataError(f"cannot read {saved} ({type(error).__name__}); is it the config.yaml gan.run wrote?") from None
    check_targets(recipe, str(saved))
    upgrade_saved(recipe)
    _apply_overrides(recipe, overrides, choices or {}, run_dir, ckpt)
    with open_dict(recipe):
        recipe.paths.output_dir = str(run_dir)  # keep writing into the same run: one TensorBoard run, one folder
        recipe.ckpt_path, recipe.resume = str(ckpt), str(run_dir)
        if recipe.model.get("evaluation") is not None:  # saved resolved: eval.* overrides reach the model's copy
            recipe.model.evaluation = recipe.eval
        for node in (recipe.get("logger") or {}).values():  # CSVLogger deletes an existing metrics.csv: new version
            if node is not None and str(node.get("_target_", "")).endswith("CSVLogger"):
                node.version = f"resumed-{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    return recipe


def upgrade_saved(recipe: DictConfig) -> None:
    """A recipe saved by an earlier version of the project, as this one reads it (resume= and gan.checkpoint)."""
    _keep_own_monitors(recipe)
    _evaluation_in_eval_group(recipe)


# Run folders saved before each variant's callbacks came with its model config (conf/callbacks/variant/) hold every
# variant's monitors; resumed, a run keeps its own: the Gaussian's, the mixtures', or the image GANs'.
_MONITORS = {"gaussian_monitor": "GaussianGAN", "mixture_monitor": "MixtureGAN",
             "sample_grid": None, "sample_quality": None}  # None: the image GANs


def _keep_own_monitors(recipe: DictConfig) -> None:
    callbacks = recipe.get("callbacks") or {}
    if not all(name in callbacks for name in _MONITORS):
        return
    model = str(recipe.model.get("_target_", "")).rsplit(".", 1)[-1]
    own = model if model in _MONITORS.values() else None
    with open_dict(recipe):
        for name, variant in _MONITORS.items():
            if variant != own:
                del recipe.callbacks[name]


# Run folders saved before the evaluator's settings had their own group (conf/eval) hold them as model keys; the
# image models now read them as model.evaluation, a copy of `eval`. Old key -> its name in `eval`.
_EVALUATOR_KEYS = {**{key: key for key in options.EVALUATOR_KEYS}, "inception_weights": "inception"}


def _evaluation_in_eval_group(recipe: DictConfig) -> None:
    model = recipe.get("model")
    if model is None or "evaluation" in model or not any(key in model for key in _EVALUATOR_KEYS):
        return
    with open_dict(recipe):
        evaluation = OmegaConf.create({new: model.pop(old) for old, new in _EVALUATOR_KEYS.items() if old in model})
        recipe.eval = OmegaConf.merge(recipe.get("eval") or {}, evaluation)
        model.evaluation = recipe.eval


def _first_runtime(run_dir: Path) -> DictConfig:
    """Hydra's `runtime` node of the run's first start (its group choices, its working folder), or an empty one."""
    try:
        return OmegaConf.load(run_dir / ".hydra" / "hydra.yaml").hydra.runtime
    except Exception:  # noqa: BLE001 - absent or unreadable: nothing is known of it
        return OmegaConf.create({})


def _data_dir(cfg: DictConfig, recipe: DictConfig, run_dir: Path, overrides) -> str | None:
    """Where a resumed run reads its data: as this command says (`paths.data_dir=`, `$GAN_DATA_DIR`), else the saved
    folder, a relative one taken from the folder the run was first started in; None: the saved folder as it is."""
    if any(o.key_or_group == "paths.data_dir" for o in overrides) or os.environ.get("GAN_DATA_DIR"):
        return str(Path(str(cfg.paths.data_dir)).expanduser().absolute())
    saved = recipe.paths.get("data_dir") if recipe.get("paths") else None
    first_cwd = _first_runtime(run_dir).get("cwd")
    if saved is None or Path(str(saved)).expanduser().is_absolute() or not first_cwd:
        return None
    return str(Path(str(first_cwd)) / str(saved))


def _apply_overrides(recipe: DictConfig, overrides, choices, run_dir: Path, ckpt: Path) -> None:
    """The command's key overrides, onto the saved recipe; a group choice only when it is the run's own."""
    saved_choices = _first_runtime(run_dir).get("choices") or {}
    for override in overrides:
        key = override.key_or_group
        if key in PLACE_KEYS or key.startswith("hydra"):
            continue
        group = f"{key}@{override.package}" if override.package else key  # e.g. optimizer@model.d_optimizer
        if group in choices or isinstance(OmegaConf.select(recipe, key), DictConfig):
            if group in saved_choices and str(override.value()) == str(saved_choices[group]):
                continue  # the run's own choice, said again: the saved recipe has it already
            raise ConfigError(
                f"resume= continues the saved recipe of {run_dir}; `{key}=...` would change it. Drop it, or start "
                f"a new run from the checkpoint: python -m gan.run {key}=... ckpt_path={ckpt}"
            )
        OmegaConf.update(recipe, key, override.value(), force_add=True)


def steps_if_complete(cfg: DictConfig, checkpoint: dict) -> int | None:
    """The training step a checkpoint is at when it has reached the run's step or epoch limit already, else None."""
    hparams = checkpoint.get("hyper_parameters") or {}
    steps = int(checkpoint.get("global_step", 0)) // (int(hparams.get("d_steps", 1)) + int(hparams.get("g_steps", 1)))
    try:  # epochs whose checkpoint was written: what Lightning compares with max_epochs on a resume
        epochs = int(checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])
    except (KeyError, TypeError, ValueError):
        epochs = None
    max_steps, max_epochs = cfg.trainer.get("max_steps", -1), cfg.trainer.get("max_epochs")
    steps_done = max_steps is not None and 0 <= max_steps <= steps
    epochs_done = max_epochs is not None and epochs is not None and 0 <= max_epochs <= epochs
    return steps if steps_done or epochs_done else None


def left_as_it_was(cfg: DictConfig, steps: int | None) -> dict[str, float] | None:
    """For a resumed run complete already at training step `steps`: says so, prints and returns its saved metrics;
    None when it is not complete or has no metrics.json to keep."""
    metrics_file = Path(cfg.paths.output_dir) / "metrics.json"
    if steps is None or not metrics_file.is_file():
        return None
    say_complete(cfg, steps)
    metrics = json.loads(metrics_file.read_text())
    figures = {k: v for k, v in metrics.items() if "/" not in k and not k.startswith(("train_", "training_"))}
    listed = ", ".join(f"{k} {v:.4g}" for k, v in figures.items())
    print(f"Results of {cfg.resume}, as they were: {listed}", flush=True)
    return metrics


def say_complete(cfg: DictConfig, steps: int) -> None:
    kept = "its results are left as they were. " if cfg.get("resume") else ""
    print(f"{cfg.get('resume') or cfg.ckpt_path} is already complete at training step {steps} (trainer.max_steps="
          f"{cfg.trainer.get('max_steps')}, trainer.max_epochs={cfg.trainer.get('max_epochs')}): nothing was trained; "
          f"{kept}Raise trainer.max_steps or trainer.max_epochs to train longer.", file=sys.stderr, flush=True)


def relocate(recipe: DictConfig, new_dir: str, data_dir: str | None = None) -> DictConfig:
    """The saved recipe with every path under its old output folder moved under `new_dir` (a moved or copied run),
    and, given `data_dir`, every data path under its old `paths.data_dir` moved under that one.

    `config.yaml` is saved resolved, so checkpoint folders, the logger's folder and the trainer's root hold the
    folder the run was first made in; a resumed copy must write into its own folder, never the original. Its
    `data.data_dir` (or `data.root`) holds the data folder of its first run in the same way.
    """
    tree = OmegaConf.to_container(recipe, resolve=False)
    tree = _moved(tree, str(recipe.paths.output_dir).rstrip("/"), new_dir)
    old_data = str(recipe.paths.get("data_dir") or "").rstrip("/")
    if data_dir is not None and old_data:
        tree["paths"] = _moved(tree["paths"], old_data, data_dir)
        tree = _moved_data(tree, old_data, data_dir)
    return OmegaConf.create(tree)


def _moved_data(tree, old: str, new: str):
    """`_moved` applied only to the `data` nodes of the tree (the run's, and copies such as a callback's): a value
    such as "data" may mean something else elsewhere."""
    if isinstance(tree, dict):
        return {k: _moved(v, old, new) if k == "data" else _moved_data(v, old, new) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_moved_data(v, old, new) for v in tree]
    return tree


def _moved(value, old: str, new: str):
    """`value` (a plain container) with every string that is `old` or a path under it moved to `new`."""
    if isinstance(value, str) and (value == old or value.startswith(old + "/")):
        return new + value[len(old):]
    if isinstance(value, dict):
        return {k: _moved(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, old, new) for v in value]
    return value


def override_value(path) -> str:
    """`path` as the value of a Hydra override: as it is when Hydra's lexer takes it unquoted, else double-quoted
    (a space, an accented letter or a quote would not parse)."""
    path = str(path)
    if re.fullmatch(r"[A-Za-z0-9_/.+@:%-]+", path):
        return path
    # Inside Hydra's quotes, backslashes only need doubling before a quote, and `${` would interpolate.
    quoted = re.sub(r'(\\*)"', r'\1\1\\"', re.sub(r"(\\*)$", r"\1\1", path)).replace("${", "\\${")
    return f'"{quoted}"'


def resume_command(run_dir) -> str:
    """`python -m gan.run resume=<run_dir>` as a line that pastes into bash and parses as a Hydra override."""
    return "python -m gan.run " + shlex.quote(f"resume={override_value(run_dir)}")
