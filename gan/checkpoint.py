"""Load a trained GAN for inference from a run directory or a checkpoint file, on any device.

    model, cfg = load_model("outputs/runs/dcgan-tomjerry/2026-01-01_12-00-00")   # its checkpoints/last.ckpt
    model, cfg = load_model(".../checkpoints/best-010.ckpt")                      # a given checkpoint

The model is rebuilt from the run's resolved `<run>/config.yaml` (written by `gan.run.train`) and gets
the checkpoint's weights; nothing in the checkpoint decides which classes are built.
"""

import pickle
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.base import ContainerMetadata, Metadata
from omegaconf.nodes import AnyNode

from gan.errors import ConfigError, DataError
from gan.models.gan import GAN
from gan.resume import upgrade_saved
from gan.validate.config import check_targets

# Lightning stores the model's hyperparameters beside the weights, and Hydra hands list values over as
# OmegaConf containers. These plain data holders are the only globals `weights_only=True` must admit
# besides tensors; no function or class from the file itself is ever called.
_HPARAM_GLOBALS = [DictConfig, ListConfig, ContainerMetadata, Metadata, AnyNode, Any, defaultdict, dict, list, int]


def find_checkpoint(path: str | Path) -> tuple[Path, Path]:
    """(checkpoint file, run directory) for a run directory or a .ckpt file.

    A run directory gives its `checkpoints/last.ckpt` (else the newest .ckpt there); a checkpoint in
    `<run>/checkpoints/` belongs to `<run>`, any other checkpoint to the folder it is in.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(
            f"{path} does not exist. Give a run directory (e.g. outputs/runs/dcgan-tomjerry/<date>) "
            "or a checkpoint file in its checkpoints/ folder."
        )
    if path.is_file():
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        return path, run_dir
    candidates = sorted((path / "checkpoints").glob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise DataError(f"{path} holds no checkpoints/*.ckpt: is it a run directory of `python -m gan.run`?")
    last = path / "checkpoints" / "last.ckpt"
    return (last if last.is_file() else candidates[-1]), path


def check_device(device: str | torch.device) -> None:
    """One line, before anything is loaded, for a device this machine does not have (`--device cuda` on a CPU box)."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ConfigError(f"--device {device}: not a device torch knows; use --device cpu (or cuda).") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA device is available on this machine; use --device cpu.")


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[GAN, DictConfig]:
    """(model in eval mode on `device`, the run's resolved config) from a run directory or a .ckpt.

    Weights are mapped to the CPU first, so a checkpoint written on a GPU loads on a machine without one.
    """
    ckpt_path, run_dir = find_checkpoint(path)
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise DataError(
            f"{config_path} is missing: the checkpoint {ckpt_path} must sit in <run>/checkpoints/ "
            "beside the run's config.yaml, as `python -m gan.run` writes them."
        )
    cfg = OmegaConf.load(config_path)
    check_targets(cfg, str(config_path))
    upgrade_saved(cfg)  # a run saved by an earlier version
    model: GAN = hydra.utils.instantiate(cfg.model)
    checkpoint = read_checkpoint(ckpt_path)
    check_fits(model, checkpoint, ckpt_path)
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(device).eval(), cfg


def read_checkpoint(path: str | Path) -> dict:
    """A `gan.run` checkpoint read with `weights_only=True` (tensors and plain data only), or one clear error."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"checkpoint {path} does not exist; give the path of a .ckpt file, e.g. <run>/checkpoints/last.ckpt.")
    try:
        with torch.serialization.safe_globals(_HPARAM_GLOBALS):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated file, or one that would need arbitrary code to unpickle
        raise DataError(
            f"cannot read checkpoint {path} ({_why_unreadable(error)}): it is truncated, damaged or not a checkpoint "
            "of `gan.run`. Use another one (e.g. a best-*.ckpt beside it) or start the run anew; nothing was changed."
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise DataError(f"{path} is not a Lightning checkpoint of `gan.run` (it has no state_dict).")
    return checkpoint


def _why_unreadable(error: Exception) -> str:
    """torch's reason, short; not its advice to load with `weights_only=False`, which would run the file's code."""
    if isinstance(error, pickle.UnpicklingError) and "weights only" in str(error).lower():
        return "it holds pickled objects besides tensors and plain data, which loading could run as code"
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()  # torch colours parts of its messages
    return text.splitlines()[0][:200] if text else type(error).__name__


def check_fits(model: torch.nn.Module, checkpoint: dict, path: str | Path) -> None:
    """One clear error when a checkpoint's weights belong to another model or other sizes."""
    expected = model.state_dict()
    saved = checkpoint["state_dict"]
    missing = [k for k in expected if k not in saved]
    extra = [k for k in saved if k not in expected]
    resized = [k for k in expected if k in saved and tuple(saved[k].shape) != tuple(expected[k].shape)]
    if missing or extra or resized:
        first = (missing or extra or resized)[0]
        detail = (
            f"{len(missing)} weights missing, {len(extra)} unexpected, {len(resized)} of another shape "
            f"(e.g. {first}"
            + (f": {tuple(saved[first].shape)} saved, {tuple(expected[first].shape)} here" if first in resized else "")
            + ")"
        )
        raise DataError(
            f"checkpoint {path} does not fit this model: {detail}. It was trained with another model or sizes; "
            "use the recipe it was trained with (`resume=<its run folder>` or the same model=/data= choices)."
        )
