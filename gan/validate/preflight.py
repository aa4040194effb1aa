"""Everything `gan.run` can check before Lightning and torchvision are imported (about 3 s of imports).

A wrong setting or network value, a missing data folder, an unwritable output folder or a GPU trainer on a machine
without a GPU driver is reported in about a second (docs/speed.md, benchmarks/startup.py). What needs no torch goes
first: the data files and the output folder, the loop's settings (`gan.validate.game`, which `GAN` and `GANLoss`
call too) and the networks' arguments (`gan.validate.networks`, which the constructors call too) as plain values, and
whether the machine has a GPU driver at all; then, with torch, the networks, built on the meta device (no memory,
no random draws), what the game needs of D (`gan.game.checked_game`: no penalty on a BatchNorm D) and whether torch
sees a GPU.
What only the model classes themselves check (e.g. evaluation settings) still comes after Lightning's import.
"""

import inspect
import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from gan.errors import ConfigError, DataError
from gan.validate.data import check_data
from gan.validate.game import check_settings
from gan.validate.networks import check_network


def preflight(cfg: DictConfig) -> None:
    """One clear error for what would fail later: first all that needs no torch, then what does; imports neither
    Lightning nor torchvision."""
    model, trainer = cfg.get("model"), cfg.get("trainer") or {}
    if cfg.get("data") is not None:
        check_data(cfg.data)
    check_writable(Path(str(cfg.paths.output_dir)))
    settings = {}
    if model is not None:
        settings = {key: model[key] for key in inspect.signature(check_settings).parameters if key in model}
        check_settings(**settings)
        for name in ("generator", "discriminator"):
            if model.get(name) is not None:
                check_network(model[name])
    accelerator = str(trainer.get("accelerator", ""))
    if accelerator in ("gpu", "cuda") and not gpu_driver_present():
        raise ConfigError(f"trainer.accelerator={accelerator}: no GPU driver on this machine (no /dev/nvidia*, "
                          "/dev/kfd or visible devices); use trainer=cpu, or run where `nvidia-smi` lists a GPU.")
    if model is not None:
        check_game(model, settings)
    if accelerator in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"trainer.accelerator={accelerator}: no CUDA GPU is visible on this machine (torch "
                              f"{torch.__version__}); use trainer=cpu, or run where `nvidia-smi` lists a GPU.")


def check_game(model: DictConfig, settings: dict) -> None:
    """With torch: the networks built on the meta device, and what the game needs of D."""
    import torch

    from gan.game import checked_game

    networks = {}
    with torch.random.fork_rng(devices=[]), torch.device("meta"):  # shapes only: no memory, the RNG untouched
        for name in ("generator", "discriminator"):
            node = model.get(name)
            if node is not None and str(node.get("_target_", "")).startswith("gan.networks."):
                networks[name] = hydra.utils.instantiate(node, _convert_="all")
    if "discriminator" in networks:
        extra = {key: model[key] for key in ("augment", "d_one_pass", "pack") if key in model}
        checked_game(networks["discriminator"], generator=networks.get("generator"), **settings, **extra)


def gpu_driver_present() -> bool:
    """False when no CUDA (or ROCm) device can exist for this process, known without importing torch: the device
    nodes of an NVIDIA or AMD driver are absent, or CUDA_VISIBLE_DEVICES hides every device."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return any(Path("/dev").glob("nvidia[0-9]*")) or Path("/dev/kfd").exists() or not Path("/dev").is_dir()


def check_writable(output_dir: Path) -> None:
    """The run folder's nearest existing ancestor must be a folder this process may write into."""
    reason = unwritable_folder(output_dir)
    if reason:
        raise DataError(f"cannot write the run folder {output_dir} ({reason}); choose a writable place "
                        "with paths.output_dir=... or run from a folder you can write to.")


def unwritable_folder(path: Path) -> str | None:
    """Why no folder can be made or written at `path`, or None. The nearest existing ancestor decides."""
    path = path.expanduser()
    if path.exists() and not path.is_dir():
        return "that is a file, not a folder"
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is a file, so no folder can be made under it"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"permission denied: {existing} is not writable"
    return None
