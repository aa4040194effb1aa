"""Checks on a composed config that need no networks or data: run before anything is built or written.

`check_run_keys` names the key and the fix for values every run shares (seed, step limits, learning
rates, update counts); `check_targets` admits only this project's classes (and the torch/Lightning classes
the config tree uses) in a config read from a run folder, since such folders are shared like checkpoints;
`relocate` makes a saved recipe write into the folder it is now in.
"""

from numbers import Integral, Real

from omegaconf import DictConfig, OmegaConf

from gan.errors import ConfigError

# Where a saved config may point `_target_`: the project, and the torch/Lightning classes conf/ uses.
SAFE_TARGET_PREFIXES = (
    "gan.",
    "torch.optim.",
    "pytorch_lightning.Trainer",
    "pytorch_lightning.callbacks.",
    "pytorch_lightning.loggers.",
    "pytorch_lightning.plugins.",
    "pytorch_lightning.strategies.",
    "pytorch_lightning.accelerators.",
    "lightning.pytorch.",
)


def _integer(key: str, value, example: str) -> int:
    # bool is an Integral too, and a YAML `1.0` or `1.5` is not a count: refuse both with the key named.
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ConfigError(f"{key}={value!r}: must be a whole number, e.g. {example}.")
    return int(value)


def check_run_keys(cfg: DictConfig) -> None:
    """One clear error for a bad value of a key every run has; nothing has been built or written yet."""
    seed = cfg.get("seed")
    if seed is not None and not 0 <= _integer("seed", seed, "seed=1234") < 2**32:
        raise ConfigError(f"seed={seed}: use a whole number from 0 to 4294967295, or seed=null for a random run.")
    threads = cfg.get("threads")
    if threads not in (None, "auto") and _integer("threads", threads, "threads=1") < 1:
        raise ConfigError(
            f"threads={threads}: give 1 or more CPU threads, threads=auto (1 for small networks) or threads=null "
            "for torch's default (one per core)."
        )
    trainer = cfg.get("trainer") or {}
    max_steps = _integer("trainer.max_steps", trainer.get("max_steps", -1), "trainer.max_steps=2000")
    if max_steps == 0 or max_steps < -1:
        raise ConfigError(
            f"trainer.max_steps={max_steps}: give a positive number of training steps, or -1 for no step limit "
            "(trainer.max_epochs then ends the run)."
        )
    max_epochs = trainer.get("max_epochs")
    if max_epochs is not None and _integer("trainer.max_epochs", max_epochs, "trainer.max_epochs=20") < -1:
        raise ConfigError(f"trainer.max_epochs={max_epochs}: give a positive number of epochs, or -1 for no limit.")
    model = cfg.get("model") or {}
    for key in ("d_steps", "g_steps"):
        if key in model and _integer(f"model.{key}", model[key], f"model.{key}=1") < 1:
            raise ConfigError(f"model.{key}={model[key]}: each training step needs at least one update; use 1 or more.")
    for key in ("g_lr", "d_lr"):
        if key not in model:
            continue
        value = model[key]
        if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
            raise ConfigError(f"model.{key}={value!r}: a learning rate must be a positive number, e.g. model.{key}=2e-4.")


def check_targets(cfg: DictConfig, source: str) -> None:
    """Refuse a saved config whose `_target_`s reach outside the project: building it could run any code."""
    for key, target in _targets(OmegaConf.to_container(cfg, resolve=False), ""):
        if not isinstance(target, str) or not target.startswith(SAFE_TARGET_PREFIXES):
            raise ConfigError(
                f"{source} sets {key}._target_={target!r}, which is not a class of this project, torch.optim or "
                "Lightning; it was not built. A run folder's config.yaml can name any code: use folders you trust, "
                "or rebuild the recipe with `python -m gan.run ...` and train anew."
            )


def _targets(node, path: str):
    """(key, target) for every `_target_` in a plain container, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_":
                yield path or "<root>", value
            else:
                yield from _targets(value, f"{path}.{key}".lstrip("."))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _targets(item, f"{path}[{i}]")


def relocate(recipe: DictConfig, new_dir: str) -> DictConfig:
    """The saved recipe with every path under its old output folder moved under `new_dir` (a moved or copied run).

    `config.yaml` is saved resolved, so checkpoint folders, the logger's folder and the trainer's root hold the
    folder the run was first made in; a resumed copy must write into its own folder, never the original.
    """
    old = str(recipe.paths.output_dir).rstrip("/")

    def move(value):
        if isinstance(value, str) and (value == old or value.startswith(old + "/")):
            return new_dir + value[len(old):]
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        return value

    return OmegaConf.create(move(OmegaConf.to_container(recipe, resolve=False)))
