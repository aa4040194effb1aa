"""GAN experiments on PyTorch Lightning and Hydra: `python -m gan.run` trains, `gan.sample` draws."""

__version__ = "0.1.0"

from omegaconf import OmegaConf

# `${gan.if:cond,a,b}` in conf/ (run dir on `resume`, best checkpoint only with a metric); registered on import
# so every entry point and test that composes the config can resolve it.
OmegaConf.register_new_resolver("gan.if", lambda value, then, otherwise: then if value else otherwise, replace=True)
