"""GAN on a 2-D Gaussian mixture: the shared loop, judged by PacGAN's mode-collapse figures."""

import torch

from gan.data.mixture import mixture_centres
from gan.evaluation import OwnFiguresEvaluator
from gan.metrics.mixture import mixture_report
from gan.models.gan import GAN, draw_noise
from gan.models.schedule import apply_lr_decay


class MixtureGAN(GAN):
    """`GAN` whose samples are points; evaluated on `eval_samples` fresh points against the mixture's modes.

    The mixture (`layout`, `size`, `radius`, `sigma`) comes from the data config; `lr_decay_start` as in
    `GaussianGAN`; `pack` is recorded here and applied by the discriminator (`gan.networks.packing`).
    """

    sample_kind = "points"

    def __init__(self, *args, layout: str, size: int, radius: float, sigma: float, eval_samples: int = 2500,
                 lr_decay_start: float | None = None, pack: int = 1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("centres", mixture_centres(layout, size, radius), persistent=False)

    def draw(self, n: int, seed: int | None = None) -> torch.Tensor:
        """(n, 2) generated points; the same points for the same seed."""
        generator = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        return self.generate(noise=draw_noise(self.hparams.noise, (n, *self.hparams.latent_shape), generator, self.device))

    def evaluate(self, seed: int = 0, samples: int | None = None) -> dict[str, float]:
        # A fixed evaluation seed: figures comparable over time, the training noise stream untouched.
        points = self.draw(samples or self.hparams.eval_samples, seed=seed)
        return mixture_report(points, self.centres, self.hparams.sigma)

    def evaluator(self, data=None, cache_dir=None, build: bool = True, samples: int | None = None, **overrides):
        """The end of a run and `gan.evaluate` score `evaluate()`'s figures through this (same points, same seed)."""
        return OwnFiguresEvaluator("modes, high_quality and reverse_kl against the mixture's centres",
                                   samples or self.hparams.eval_samples)

    def validation_step(self, batch, batch_idx: int) -> None:
        self.log_dict({f"val/{k}": v for k, v in self.evaluate().items()}, sync_dist=True)

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        apply_lr_decay(self, self.hparams.lr_decay_start)
