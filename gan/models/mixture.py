"""GAN on a 2-D Gaussian mixture: the shared loop, judged by PacGAN's mode-collapse figures."""

import torch

from gan.data.mixture import mixture_centres, sample_mixture
from gan.errors import ConfigError
from gan.eval.evaluator import OwnFiguresEvaluator
from gan.eval.mixture import mixture_report
from gan.models.gan import GAN, draw_noise
from gan.models.rejection import RejectionSampler
from gan.networks.points import PointDiscriminator
from gan.steps import planned_training_steps
from gan.validate import options
from gan.validate.values import one_of


class MixtureGAN(GAN):
    """`GAN` whose samples are points; evaluated on `eval_samples` fresh points against the mixture's modes.

    The mixture (`layout`, `size`, `radius`, `sigma`) comes from the data config; `pack` is recorded here and applied by the discriminator (`gan.networks.packing`).
    `sampling="drs"`: after G's last update a point critic (`drs_hidden_sizes`) is fitted for `drs_steps`
    updates of `drs_batch_size` real and fake points at rate `drs_lr`, and every draw of the run (its figures,
    pictures and `gan.sample`) keeps G's points by discriminator rejection sampling (gan/models/rejection.py).
    The raw generator's figures are always reported beside them (`*_raw`).
    """

    sample_kind = "points"

    def __init__(self, *args, layout: str, size: int, radius: float, sigma: float, eval_samples: int = 2500,
                 sampling: str = "raw", drs_steps: int = 1000,
                 drs_batch_size: int = 500, drs_lr: float = 3e-3, drs_hidden_sizes: tuple[int, ...] = (128, 128),
                 drs_fourier: int = 128, drs_fourier_scale: float = 0.05, drs_quantile: float = 0.5,
                 drs_margin: float = 2.0,
                 **kwargs) -> None:
        one_of(sampling, options.SAMPLINGS, "model.sampling")
        if sampling == "drs" and (int(drs_steps) < 1 or int(drs_batch_size) < 1 or not drs_lr > 0):
            raise ConfigError(f"model.drs_steps={drs_steps}, model.drs_batch_size={drs_batch_size}, "
                              f"model.drs_lr={drs_lr}: all must be positive for model.sampling=drs.")
        if sampling == "drs" and not (0 < drs_quantile <= 1 and drs_margin >= 0):
            raise ConfigError(f"model.drs_quantile={drs_quantile}, model.drs_margin={drs_margin}: the quantile must "
                              "be in (0, 1] and the margin at least 0 (1 and 0: exact rejection sampling).")
        super().__init__(*args, **kwargs)
        self.register_buffer("centres", mixture_centres(layout, size, radius), persistent=False)
        # The critic sees points in units of sigma, through Fourier features of std `drs_fourier_scale` per sigma.
        critic = PointDiscriminator(2, list(drs_hidden_sizes), pack=1, input_scale=sigma, fourier=drs_fourier,
                                    fourier_scale=drs_fourier_scale) if sampling == "drs" else None
        self.rejection = RejectionSampler(critic) if critic is not None else None

    def draw(self, n: int, seed: int | None = None, raw: bool = False) -> torch.Tensor:
        """(n, 2) points as the run gives them (kept by DRS once its critic is fitted, unless `raw`); the same
        points for the same seed."""
        return self._draw(n, seed, raw)[0]

    def _draw(self, n: int, seed: int | None, raw: bool) -> tuple[torch.Tensor, float]:
        """(n, 2) points and the share of G's draws kept for them (1 without rejection)."""
        generator = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None

        def from_g(m: int) -> torch.Tensor:
            return self.generate(noise=draw_noise(self.hparams.noise, (m, *self.hparams.latent_shape), generator,
                                                  self.device))

        if raw or not self.rejecting:
            return from_g(n), 1.0
        return self.rejection.sample(from_g, n, generator)

    @property
    def rejecting(self) -> bool:
        """True when draws go through rejection sampling: model.sampling=drs and its critic fitted."""
        return self.rejection is not None and self.rejection.fitted

    def evaluate(self, seed: int = 0, samples: int | None = None) -> dict[str, float]:
        """PacGAN's figures of what the run draws and, as `*_raw`, of G's own draws (the same when sampling=raw)."""
        # A fixed evaluation seed: figures comparable over time, the training noise stream untouched.
        n = samples or self.hparams.eval_samples
        raw = mixture_report(self.draw(n, seed=seed, raw=True), self.centres, self.hparams.sigma)
        figures = {**raw, **{f"{k}_raw": v for k, v in raw.items()}}
        if self.rejecting:
            points, kept = self._draw(n, seed, raw=False)
            figures.update(mixture_report(points, self.centres, self.hparams.sigma), drs_acceptance=kept)
        return figures

    def write_samples(self, out, n, seed, **request) -> list:
        """samples.csv (x, y) and the scatter figure(s) of 2,500 points unless `n`; gan/sampling.py `sample_points`."""
        from gan.sampling import sample_points

        return sample_points(self, n or 2500, out, seed)

    def evaluator(self, data=None, cache_dir=None, build: bool = True, samples: int | None = None, **overrides):
        """The end of a run and `gan.evaluate` score `evaluate()`'s figures through this (same points, same seed)."""
        return OwnFiguresEvaluator("modes, high_quality and reverse_kl against the mixture's centres",
                                   samples or self.hparams.eval_samples)

    def validation_step(self, batch, batch_idx: int) -> None:
        self.log_dict({f"val/{k}": v for k, v in self.evaluate().items()}, sync_dist=True)

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        # G is final after the run's last training step: fit the critic then, before the last checkpoint is written.
        if self.rejection is None:
            return
        total = planned_training_steps(self.trainer)
        if self.trainer.fast_dev_run or (total and self.training_steps_done >= total):
            steps = 1 if self.trainer.fast_dev_run else self.hparams.drs_steps
            # Said, so that the last epoch's line, seconds longer than the others, is not a mystery.
            if self.trainer.is_global_zero and not self.trainer.fast_dev_run:
                print(f"Fitting the rejection sampler's critic to G's final draws ({steps} updates)", flush=True)
            self.fit_rejection(steps=steps)

    def fit_rejection(self, steps: int) -> dict[str, float]:
        """Fits the DRS critic to G's current draws (`steps` updates) and logs its last loss and log M."""
        hp = self.hparams
        with torch.enable_grad():
            fit = self.rejection.fit(
                real=lambda n: sample_mixture(self.centres.cpu(), hp.sigma, n).to(self.device),
                fake=lambda n: self.draw(n, raw=True),
                steps=steps, batch_size=hp.drs_batch_size, lr=hp.drs_lr, quantile=hp.drs_quantile,
                margin=hp.drs_margin)
        self.log_dict({f"train/drs_{k}": v for k, v in fit.items()})
        return fit
