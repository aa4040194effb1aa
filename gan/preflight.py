"""Everything `gan.run` can check before Lightning and torchvision are imported (about 3 s of imports).

A wrong setting, a missing data folder or an unwritable output folder is reported in under a second; a wrong network
value in about as long as torch takes to import (docs/speed.md, benchmarks/startup.py). What needs no torch goes first: the data files and the output
folder, and the loop's settings as plain values (`gan.settings`, which `GAN` and `GANLoss` call too); then, with
torch, the networks, built on the meta device (every constructor check, no memory, no random draws), what the
game needs of D (`gan.game.checked_game`: no penalty on a BatchNorm D) and the trainer's device.
What only the model classes themselves check (e.g. evaluation settings) still comes after Lightning's import.
"""

import inspect
import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from gan.data.checks import check_data
from gan.errors import ConfigError, DataError
from gan.settings import check_settings


def preflight(cfg: DictConfig) -> None:
    """One clear error for what would fail later; imports torch but neither Lightning nor torchvision."""
    if cfg.get("data") is not None:
        check_data(cfg.data)
    check_writable(Path(str(cfg.paths.output_dir)))
    if cfg.get("model") is not None:
        check_model(cfg.model)
    check_trainer(cfg.get("trainer") or {})


def check_model(model: DictConfig) -> None:
    """The loop's settings as plain values first (no torch), then the networks and the game with torch."""
    settings = {key: model[key] for key in inspect.signature(check_settings).parameters if key in model}
    check_settings(**settings)
    import torch

    from gan.game import checked_game

    networks = {}
    with torch.random.fork_rng(devices=[]), torch.device("meta"):  # shapes only: no memory, the RNG untouched
        for name in ("generator", "discriminator"):
            node = model.get(name)
            if node is not None and str(node.get("_target_", "")).startswith("gan.networks."):
                networks[name] = hydra.utils.instantiate(node, _convert_="all")
    if "discriminator" in networks:
        extra = {key: model[key] for key in ("augment", "d_one_pass") if key in model}
        checked_game(networks["discriminator"], **settings, **extra)


def check_trainer(trainer) -> None:
    accelerator = str(trainer.get("accelerator", ""))
    if accelerator in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"trainer.accelerator={accelerator}: no CUDA GPU is visible on this machine (torch "
                              f"{torch.__version__}); use trainer=cpu, or run where `nvidia-smi` lists a GPU.")


def check_writable(output_dir: Path) -> None:
    """The run folder's nearest existing ancestor must be a folder this process may write into."""
    existing = next(p for p in (output_dir, *output_dir.parents) if p.exists())
    reason = ("a file is in the way" if not existing.is_dir()
              else None if os.access(existing, os.W_OK | os.X_OK) else "permission denied")
    if reason:
        raise DataError(f"cannot write the run folder {output_dir} ({reason}: {existing}); choose a writable place "
                        "with paths.output_dir=... or run from a folder you can write to.")
