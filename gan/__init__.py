"""GAN experiments on PyTorch Lightning and Hydra: `python -m gan.run` trains, `gan.sample` draws."""

__version__ = "0.1.0"

from omegaconf import OmegaConf

# `${gan.if:cond,a,b}` in conf/ (run dir on `resume`, best checkpoint only with a metric); registered on import
# so every entry point and test that composes the config can resolve it.
OmegaConf.register_new_resolver("gan.if", lambda value, then, otherwise: then if value else otherwise, replace=True)


def _multirun() -> bool:
    """True inside a job of `python -m gan.run -m ...` (its folder is then Hydra's sweep job folder)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().get("mode") == RunMode.MULTIRUN


OmegaConf.register_new_resolver("gan.multirun", _multirun, replace=True)
