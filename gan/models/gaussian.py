"""The 1-D Gaussian GAN: the shared loop, plus how to judge a generator of single numbers."""

import torch

from gan.eval.evaluator import OwnFiguresEvaluator
from gan.eval.gaussian import gaussian_report
from gan.models.gan import GAN, draw_noise


class GaussianGAN(GAN):
    """`GAN` whose samples are sets of draws; evaluated on `eval_samples` fresh draws against the target."""

    sample_kind = "numbers"

    def __init__(
        self,
        *args,
        target_mean: float,
        target_std: float,
        eval_samples: int = 10_000,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)

    def draw(self, n: int, seed: int | None = None) -> torch.Tensor:
        """(n,) generated numbers; the generator maps each noise draw on its own, so any n works."""
        generator = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        shape = (1, n, self.hparams.latent_shape[-1])  # one set of n draws, each of noise_dim numbers
        return self.generate(noise=draw_noise(self.hparams.noise, shape, generator, self.device)).flatten()

    def evaluate(self, seed: int = 0, samples: int | None = None) -> dict[str, float]:
        # A fixed evaluation seed: figures are comparable over time and do not disturb the training noise.
        draws = self.draw(samples or self.hparams.eval_samples, seed=seed)
        return gaussian_report(draws, self.hparams.target_mean, self.hparams.target_std)

    def validation_step(self, batch, batch_idx: int) -> None:
        # The same seed and weights on every rank: sync_dist keeps ranks agreeing on the monitored value for free.
        self.log_dict({f"val/{k}": v for k, v in self.evaluate().items()}, sync_dist=True)

    def write_samples(self, out, n, seed, **request) -> list:
        """samples.csv and histogram.png of 10,000 draws unless `n`; gan/sampling.py `sample_gaussian`."""
        from gan.sampling import sample_gaussian

        return sample_gaussian(self, n or 10_000, out, seed)

    def evaluator(self, data=None, cache_dir=None, build: bool = True, samples: int | None = None, **overrides):
        """The end of a run and `gan.evaluate` score `evaluate()`'s figures through this (same draws, same seed)."""
        hp = self.hparams
        target = f"N({hp.target_mean:g}, {hp.target_std:g})"
        return OwnFiguresEvaluator(f"moment errors, ks and w1 against {target}", samples or hp.eval_samples)
