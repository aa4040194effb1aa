"""Checks on a composed config that need no networks or data: run before anything is built or written.

`check_run_keys` names the key and the fix for values every run shares (seed, step limits, the trainer's
devices and validation interval, learning rates, update counts) and says which model goes with which data;
`check_targets` admits only this project's classes (and the torch/Lightning classes the config tree uses) in a
config read from a run folder, since such folders are shared like checkpoints.
"""

from collections.abc import Sequence
from numbers import Real

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationKeyError

from gan.errors import ConfigError
from gan.validate.values import whole_number

INCEPTION_EXTRA = ('Inception FID needs the optional `inception` extra (torch-fidelity): pip install -e ".[inception]"'
                   " (or pip install torch-fidelity)")

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


# What each kind of model trains on, by the `_target_` prefixes of conf/model and conf/data (first match wins).
MODEL_KINDS = (("gan.models.gaussian.", "gaussian"), ("gan.models.mixture.", "points"), ("gan.models.", "images"))
DATA_KINDS = (("gan.data.gaussian.", "gaussian"), ("gan.data.mixture.", "points"), ("gan.data.mnist.", "images"),
              ("gan.data.image_folder.", "images"))
MODELS_FOR = {"gaussian": "model=gaussian", "points": "model=mixture",
              "images": "an image model (model=vanilla, dcgan, cgan or infogan)"}
DATA_FOR = {"gaussian": "data=gaussian", "points": "data=ring or data=grid",
            "images": "image data (data=mnist, fashion_mnist, kmnist, image_folder or tomjerry)"}


def check_run_keys(cfg: DictConfig) -> None:
    """One clear error for a bad value of a key every run has; nothing has been built or written yet."""
    check_model_fits_data(cfg)
    seed = cfg.get("seed")
    if seed is not None and not 0 <= whole_number("seed", seed, "seed=1234") < 2**32:
        raise ConfigError(f"seed={seed}: use a whole number from 0 to 4294967295, or seed=null for a random run.")
    threads = cfg.get("threads")
    if threads not in (None, "auto") and whole_number("threads", threads, "threads=1") < 1:
        raise ConfigError(
            f"threads={threads}: give 1 or more CPU threads, threads=auto (1 for small networks) or threads=null "
            "for torch's default (one per core)."
        )
    check_trainer(cfg.get("trainer") or {})
    model = cfg.get("model") or {}
    evaluation = cfg.get("eval") or {}
    check_evaluation(evaluation)
    check_inception(model, evaluation.get("inception"))
    for key in ("d_steps", "g_steps"):
        if key in model and whole_number(f"model.{key}", model[key], f"model.{key}=1") < 1:
            raise ConfigError(f"model.{key}={model[key]}: each training step needs at least one update; use 1 or more.")
    for key in ("g_lr", "d_lr"):
        if key not in model:
            continue
        value = model[key]
        if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
            raise ConfigError(f"model.{key}={value!r}: a learning rate must be a positive number, e.g. model.{key}=2e-4.")


def check_evaluation(evaluation) -> None:
    """The `eval` group's counts (the image models read it as model.evaluation): one line naming the key."""
    for key, usual in (("kid_subset_size", 1000), ("kid_subsets", 10), ("nearest_k", 5)):
        if key in evaluation and whole_number(f"eval.{key}", evaluation[key], f"eval.{key}={usual}") < 1:
            raise ConfigError(f"eval.{key}={evaluation[key]}: give 1 or more; {usual} is usual.")


def check_inception(model, inception) -> None:
    """eval.inception (which the image models read as model.evaluation.inception): null, download, or a file; with
    torch-fidelity installed and an image model to judge. Nothing is fetched here."""
    if inception is None:
        return
    if model and "evaluation" not in model:
        raise ConfigError(f"eval.inception={inception}: Inception FID judges image GANs; this model has figures of "
                          "its own. Leave eval.inception=null.")
    import importlib.util
    from pathlib import Path

    if importlib.util.find_spec("torch_fidelity") is None:
        raise ConfigError(f"eval.inception={inception}: {INCEPTION_EXTRA}; or set eval.inception=null.")
    if str(inception) != "download" and not Path(str(inception)).expanduser().is_file():
        raise ConfigError(missing_inception(inception))


def missing_inception(inception) -> str:
    return (f"eval.inception={inception}: no such file. Give the path of FID Inception weights you have locally "
            "(torch-fidelity's weights-inception-2015-12-05-6726825d.pth), eval.inception=download to fetch them once "
            "into torch's hub cache, or null.")


def check_trainer(trainer) -> None:
    """The `trainer.*` keys that would otherwise fail deep inside Lightning (a division by 0, a DDP hang)."""
    max_steps = whole_number("trainer.max_steps", trainer.get("max_steps", -1), "trainer.max_steps=2000")
    if max_steps == 0 or max_steps < -1:
        raise ConfigError(
            f"trainer.max_steps={max_steps}: give a positive number of training steps, or -1 for no step limit "
            "(trainer.max_epochs then ends the run)."
        )
    max_epochs = trainer.get("max_epochs")
    epochs = None if max_epochs is None else whole_number("trainer.max_epochs", max_epochs, "trainer.max_epochs=20")
    if epochs is not None and epochs != -1 and epochs < 1:
        raise ConfigError(f"trainer.max_epochs={max_epochs}: give a positive number of epochs, or -1 for no limit "
                          "(0 would train nothing).")
    every, key = trainer.get("check_val_every_n_epoch"), "trainer.check_val_every_n_epoch"
    if every is not None and whole_number(key, every, f"{key}=1") < 1:
        raise ConfigError(f"trainer.check_val_every_n_epoch={every}: the figures, status line and best checkpoint come "
                          "every this many epochs; use 1 or more, e.g. trainer.check_val_every_n_epoch=5.")
    devices, strategy = trainer.get("devices"), trainer.get("strategy")
    count = len(devices) if isinstance(devices, Sequence) and not isinstance(devices, str) else devices
    if isinstance(count, int) and not isinstance(count, bool) and count > 1 and strategy in (None, "auto"):
        ddp = "trainer=ddp_cpu" if str(trainer.get("accelerator")) == "cpu" else "trainer=ddp"
        raise ConfigError(f"trainer.devices={devices}: {count} processes need the DDP strategy of {ddp} (each "
                          f"player's update leaves the other's weights without gradients); use {ddp} "
                          f"trainer.devices={devices}, or trainer.devices=1.")


def check_model_fits_data(cfg: DictConfig) -> None:
    """One line naming which model goes with which data, instead of OmegaConf's InterpolationKeyError on a shape
    key (`${data.channels}`) the data does not have."""
    model, data = cfg.get("model"), cfg.get("data")
    if model is not None and "_target_" not in model:  # model=_gan: the keys the model yamls start from
        raise ConfigError(f"{_choices(cfg).get('model', 'this model')} is not a model but keys the models start "
                          "from; pick model=gaussian, mixture, vanilla, dcgan, cgan or infogan.")
    if model is None or data is None:
        return
    model_kind, data_kind = _kind(model, MODEL_KINDS), _kind(data, DATA_KINDS)
    missing = None
    if model_kind is None or model_kind == data_kind or data_kind is None:
        try:
            OmegaConf.to_container(model, resolve=True)
            return
        except InterpolationKeyError as error:
            missing = f" ({error.msg})"
    names = _choices(cfg)
    model_name, data_name = names.get("model", "this model"), names.get("data", "this data")
    advice = [f"{data_name} goes with {MODELS_FOR[data_kind]}" if data_kind else "",
              f"{model_name} with {DATA_FOR[model_kind]}" if model_kind else ""]
    raise ConfigError(f"{model_name} does not fit {data_name}{missing or ''}: "
                      + (", and ".join(a for a in advice if a) or "pick a model and data of the same kind") + ".")


def _kind(node: DictConfig, kinds) -> str | None:
    target = str(node.get("_target_", ""))
    return next((kind for prefix, kind in kinds if target.startswith(prefix)), None)


def _choices(cfg: DictConfig) -> dict[str, str]:
    """{"model": "model=vanilla", "data": "data=mnist"}: the group choices of this Hydra run, where there is one."""
    from hydra.core.hydra_config import HydraConfig

    node = HydraConfig.get() if HydraConfig.initialized() else None
    choices = node.runtime.choices if node is not None else {}
    return {group: f"{group}={choices[group]}" for group in ("model", "data") if choices.get(group)}


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
