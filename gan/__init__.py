"""GAN experiments on PyTorch Lightning and Hydra: `python -m gan.run` trains, `gan.sample` draws."""

__version__ = "0.1.0"
