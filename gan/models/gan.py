"""The one alternating D/G training loop that every GAN variant shares.

Variants differ in networks (passed in built), data and losses, and override small hooks
(`real_from_batch`, `condition_from_batch`, `evaluator`, and for `gan.sample` `check_sample_request` and
`write_samples`), never `training_step`. What each player minimises is the `GANLoss` component (gan/game.py).
"""

import random
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from gan.errors import ConfigError, NonFiniteLossError
from gan.game import NOISE, checked_game
from gan.models.conditioning import Conditioning
from gan.models.schedule import apply_lr_decay
from gan.steps import last_checkpoint_path, planned_training_steps


def draw_noise(kind: str, shape: Sequence[int], generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> torch.Tensor:
    """`shape` draws of the noise `kind` ("normal" or "uniform"): the one place noise is made."""
    return NOISE[kind](tuple(shape), generator=generator, device=device)


class GAN(Conditioning, pl.LightningModule):
    """Per training step: `d_steps` discriminator updates, then `g_steps` generator updates.

    Each D update takes its own slice of the real batch, so a batch of `d_steps * n` real samples
    feeds `d_steps` updates of `n`. One training step is one seed "epoch" for the Gaussian GAN and
    one batch for the image GANs; Lightning's `global_step` counts optimizer steps, i.e.
    `d_steps + g_steps` per training step (see `training_steps_done`).
    """

    # What the samples are, for callbacks and `gan.sample` to ask instead of inspecting the class:
    # "images" (B, C, H, W) in [-1, 1], "numbers" (the Gaussian GAN's draws), None: nothing they know how to show.
    sample_kind: str | None = None

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        g_optimizer: Callable[..., torch.optim.Optimizer],
        d_optimizer: Callable[..., torch.optim.Optimizer],
        g_lr: float,
        d_lr: float,
        latent_shape: Sequence[int],
        noise: str = "normal",
        d_steps: int = 1,
        g_steps: int = 1,
        loss: str = "bce",
        gradient_penalty: float | None = 0.0,
        r1_gamma: float | None = 0.0,
        r1_every: int = 16,
        augment: str | Sequence[str] | None = None,
        num_fixed: int = 64,
        ema_decay: float | None = None,
        ema_warmup: bool = False,
        monitor: str | None = None,
        monitor_mode: str = "min",
        num_classes: int | None = None,
        conditional: bool | None = None,
        d_one_pass: bool = True,
        compile: bool = False,  # noqa: A002 - the config key users type: model.compile=true
        lr_decay_start: float | None = None,
        pack: int = 1,
    ) -> None:
        """`monitor` names the run's main metric (logged by the variant), used for best checkpoints and sweeps.
        `num_classes`: a conditional GAN, G(z, c) and D(x, c) with labels c in [0, num_classes) (`${data.num_classes}`);
        None: unconditional, labels in the batches are not passed on. `conditional`: the config's switch where a
        model has one (model=dcgan model.conditional=true), checked against `num_classes`.
        `d_one_pass`: D scores real and fake in one forward pass where it mixes no samples (gan/game.py); false
        keeps two. `compile`: G and D are compiled with torch.compile when training starts (docs/speed.md).
        `lr_decay_start`: the fraction of the run after which both learning rates fall linearly to 0 at its last
        step (`gan.models.schedule`); None keeps them constant, as the originals do. `pack`: PacGAN's samples per D
        judgement, which the discriminator applies (`${model.pack}` in its config); checked against it."""
        super().__init__()
        self.loss = checked_game(  # every setting checked first, in gan/game.py: gan.run checks them before Lightning
            discriminator, loss=loss, gradient_penalty=gradient_penalty, r1_gamma=r1_gamma, r1_every=r1_every,
            augment=augment, d_one_pass=d_one_pass, noise=noise, d_steps=d_steps, g_steps=g_steps, g_lr=g_lr,
            d_lr=d_lr, ema_decay=ema_decay, num_classes=num_classes, conditional=conditional, compile=compile,
            pack=pack, generator=generator)
        if lr_decay_start is not None and not 0.0 <= lr_decay_start < 1.0:
            raise ConfigError(f"model.lr_decay_start={lr_decay_start}: use a fraction in [0, 1), or null for none.")
        if self.loss.augment and self.sample_kind != "images":
            raise ConfigError(
                f"model.augment={augment}: DiffAugment transforms images, and {type(self).__name__} does not make "
                "images; set model.augment=null."
            )
        # An unconditional model keeps no num_classes: Lightning refuses to log a model's and a datamodule's
        # hparams that share a key with different values (None here, 10 for MNIST's datamodule).
        unconditional = ["num_classes"] if num_classes is None else []
        self.save_hyperparameters(ignore=["generator", "discriminator", "g_optimizer", "d_optimizer", *unconditional])
        self.automatic_optimization = False  # the alternating D/G update below is the point of a GAN
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.generator_ema = (
            AveragedModel(generator, multi_avg_fn=partial(_ema_update, ema_decay, ema_warmup), use_buffers=True)
            if ema_decay
            else None
        )
        if self.generator_ema is not None:
            self.generator_ema.requires_grad_(False)  # moved by averaging, never by gradients; DDP then skips it
        # One noise batch kept for the whole run (and in checkpoints) so sample grids are comparable over time.
        self.register_buffer("fixed_noise", self.sample_noise(num_fixed, device="cpu"))

    # ---- noise and sampling -------------------------------------------------------------------
    def sample_noise(self, n: int, device: torch.device | str | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, *latent_shape) draws from the configured noise distribution; from `generator` when given."""
        return draw_noise(self.hparams.noise, (n, *self.hparams.latent_shape), generator, device or self.device)

    @property
    def sampler(self) -> nn.Module:
        """The generator used for pictures, metrics and `gan.sample`: its EMA when one is kept."""
        return self.generator_ema.module if self.generator_ema is not None else self.generator

    def _g(self, net: nn.Module, noise: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """G(z) for unconditional generators, G(z, c) with labels (B,) for conditional ones."""
        return net(noise) if c is None else net(noise, c)

    @torch.no_grad()
    def generate(self, n: int | None = None, noise: torch.Tensor | None = None, batch_size: int = 1000,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples in eval mode, in chunks of `batch_size`; restores the sampler's train/eval mode.

        `labels` (one per sample) for a conditional model; None there draws every class equally often."""
        noise = self.sample_noise(n) if noise is None else noise.to(self.device)
        if labels is None and self.conditional:
            labels = self.balanced_labels(len(noise))
        self.check_labels(labels)
        chunks = labels.to(self.device).split(batch_size) if labels is not None else [None] * len(noise.split(batch_size))
        was_training = self.sampler.training
        self.sampler.eval()
        try:
            return torch.cat([self._g(self.sampler, z, c) for z, c in zip(noise.split(batch_size), chunks)])
        finally:
            self.sampler.train(was_training)

    # ---- the alternating update ---------------------------------------------------------------
    def real_from_batch(self, batch) -> torch.Tensor:
        """The real samples in a batch; image datasets give (images, labels)."""
        return batch[0] if isinstance(batch, (tuple, list)) else batch

    def condition_from_batch(self, batch) -> torch.Tensor | None:
        """The labels G(z, c) and D(x, c) are conditioned on: the batch's (x, y) labels for a conditional model;
        None for an unconditional one (its labels are not passed on, its networks are called without them)."""
        if not self.conditional:
            return None
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ConfigError(f"{type(self).__name__} is conditional (model.num_classes={self.num_classes}) but the "
                              "data give no labels; use labelled data (data=mnist, data.labels=folders) or "
                              "model.num_classes=null.")
        return batch[1].long()

    def training_step(self, batch, batch_idx: int) -> None:
        d_opt, g_opt = self.optimizers()
        real_slices = self._split(self.real_from_batch(batch))
        c_slices = self._split(self.condition_from_batch(batch))
        # The fakes are made once with their graph: the first D update sees them detached and the first
        # G update back-propagates through them; further updates draw fresh noise, as the originals do. A conditional
        # model's fakes are drawn for the labels of the real slice D compares them with.
        noise = self.sample_noise(len(real_slices[0]))
        fake = self._g(self.generator, noise, c_slices[0])

        first_d_update = self.training_steps_done * self.hparams.d_steps
        for i, (real, c) in enumerate(zip(real_slices, c_slices)):
            if i == 0:
                d_noise, d_fake = noise, fake.detach()
            else:
                d_noise = self.sample_noise(len(real))
                with torch.no_grad():
                    d_fake = self._g(self.generator, d_noise, c)
            d_stats = self._d_step(d_opt, real, d_fake, c, first_d_update + i, d_noise)

        for j in range(self.hparams.g_steps):
            g_noise = noise if j == 0 else self.sample_noise(len(real_slices[0]))
            g_fake = fake if j == 0 else self._g(self.generator, g_noise, c_slices[0])
            g_stats = self._g_step(g_opt, g_fake, c_slices[0], g_noise)

        self._check_finite(d_stats["train/d_loss"], g_stats["train/g_loss"])
        # Lightning writes step values only every `log_every_n_steps` training steps and `self.log` costs
        # more than a whole Gaussian step: log just then, on an epoch's last batch (for epoch-end readers) and on
        # the run's last step (a run its step limit ends mid-epoch: its last line and curve point are its own).
        if (self.training_steps_done % max(1, self.trainer.log_every_n_steps) == 0 or self.trainer.is_last_batch
                or self.training_steps_done == planned_training_steps(self.trainer)):
            self.log_dict({**d_stats, **g_stats}, prog_bar=True)

    def _split(self, batch: torch.Tensor | None) -> list:
        """`d_steps` slices of a batch, one per D update, sizes differing by at most one (None: d_steps Nones)."""
        d_steps = self.hparams.d_steps
        if batch is None:
            return [None] * d_steps
        if len(batch) < d_steps:
            raise ConfigError(
                f"a batch of {len(batch)} cannot feed model.d_steps={d_steps} discriminator updates a slice each; "
                f"use a batch of at least {d_steps} (data.batch_size) or fewer model.d_steps."
            )
        return list(batch.tensor_split(d_steps))

    def code_loss(self, fake: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, dict] | None:
        """A variant's extra term for both players, from the fakes and the noise they were made from (InfoGAN's
        mutual-information term); None: none. Added to D's loss on the detached fakes and to G's loss."""
        return None

    def _with_code_loss(self, loss, figures, fake, noise, phase: str):
        extra = self.code_loss(fake, noise) if noise is not None else None
        if extra is None:
            return loss, figures
        term, logged = extra
        return loss + term, {**figures, **{f"train/{phase}_{k}": v for k, v in logged.items()}}

    def _d_step(self, d_opt, real: torch.Tensor, fake: torch.Tensor, c: torch.Tensor | None,
                d_update: int, noise: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        with self.toggled_optimizer(d_opt):  # only D's parameters get gradients
            loss, figures = self.loss.d_loss(self.discriminator, real, fake, c, d_update)
            loss, figures = self._with_code_loss(loss, figures, fake, noise, "d")
            d_opt.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            d_opt.step()
        return figures  # D(x), D(G(z)) or the critic's scores, as before this update

    def _g_step(self, g_opt, fake: torch.Tensor, c: torch.Tensor | None,
                noise: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        with self.toggled_optimizer(g_opt):  # D is only a critic here: no gradients for its weights
            loss, figures = self.loss.g_loss(self.discriminator, fake, c)
            loss, figures = self._with_code_loss(loss, figures, fake, noise, "g")
            g_opt.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            g_opt.step()
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)
        return figures

    def _check_finite(self, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
        # One read of one number per step (on a GPU, its one host sync): the sum is finite when both losses are.
        if torch.isfinite(d_loss.detach() + g_loss.detach()):
            return
        for name, value in (("d_loss", d_loss), ("g_loss", g_loss)):
            if not torch.isfinite(value):
                raise NonFiniteLossError(
                    f"{name} became {value.item()} at training step {self.training_steps_done} "
                    f"(epoch {self.current_epoch}). The run stopped; {self._what_is_kept()} "
                    f"Try lower learning rates (model.g_lr, model.d_lr){self._precision_hint()}."
                )

    def _what_is_kept(self) -> str:
        """Whether a checkpoint from before the failure exists: say what is true."""
        last = last_checkpoint_path(self.trainer)
        return f"{last} from before it is kept." if last.is_file() else "no checkpoint had been saved yet."

    def _precision_hint(self) -> str:
        precision = str(self.trainer.precision)
        return ", or bf16 (trainer=gpu_bf16) instead of fp16" if precision.startswith("16") else ""

    def on_fit_start(self) -> None:
        if self.hparams.get("compile"):  # in place: parameter names, and so checkpoints, stay those of the plain nets
            self.generator.compile()
            self.discriminator.compile()

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        apply_lr_decay(self, self.hparams.lr_decay_start)  # a no-op without model.lr_decay_start

    @property
    def training_steps_done(self) -> int:
        """Training steps completed so far (Lightning's global_step counts each optimizer step)."""
        return self.trainer.global_step // (self.hparams.d_steps + self.hparams.g_steps)

    def configure_optimizers(self):
        d_opt = self.d_optimizer(params=self.discriminator.parameters(), lr=self.hparams.d_lr)
        g_opt = self.g_optimizer(params=self.generator.parameters(), lr=self.hparams.g_lr)
        return d_opt, g_opt

    # ---- evaluation ---------------------------------------------------------------------------
    def evaluator(self, data, cache_dir: str | None = None, build: bool = True, **overrides):
        """What judges this variant's samples (gan/eval/evaluator.py), for `val/...`, `metrics.json` and
        `gan.evaluate`; None: nothing to measure. `data` is the run's data config."""
        return None

    # ---- what `python -m gan.sample` writes (gan/sampling.py): each variant says it for its own samples ------------
    def check_sample_request(self, n: int | None, label: int | None = None, per_class: int | None = None,
                             steps: int | None = None) -> None:
        """One-line errors for `gan.sample` options this model cannot honour, before anything is written. The base
        draws no images: labels and interpolation strips are the image GANs' (`ImageGAN`)."""
        if type(self).write_samples is GAN.write_samples:
            raise ConfigError(f"{type(self).__name__} has no sample writer (its samples are {self.sample_kind!r}), "
                              "so gan.sample cannot draw it; give the class a write_samples method.")
        if label is not None or per_class is not None:
            raise ConfigError("--label/--per-class: this model is not conditional (it draws "
                              f"{self.sample_kind} without labels); sample it without them.")
        if steps:
            raise ConfigError(f"--interpolate: this model draws {self.sample_kind}, not images; the interpolation "
                              "strip is for image GANs. Sample it without --interpolate.")

    def write_samples(self, out, n: int | None, seed: int, **request) -> list:
        """Write `n` samples (None: the variant's default count) drawn from `seed` into the folder `out`; returns
        the files written. `request`: gan.sample's options (steps, label, per_class, code, vary)."""
        raise NotImplementedError(f"{type(self).__name__} writes no samples")

    # ---- exact resume -------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # A finite loss can still leave inf/NaN weights after the step; never let them replace a good last.ckpt.
        for name, tensor in self.state_dict().items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise NonFiniteLossError(
                    f"{name} became non-finite by training step {self.training_steps_done}; no checkpoint was "
                    "written over the last good one. Try lower learning rates (model.g_lr, model.d_lr)."
                )
        # Lightning restores weights, optimizers and counters; the noise streams need the RNG states too.
        checkpoint["rng_states"] = {
            "torch": torch.get_rng_state(),
            "numpy": _numpy_state_to_safe(np.random.get_state()),
            "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        states = checkpoint.get("rng_states")
        if states is None:
            return
        torch.set_rng_state(states["torch"])
        np.random.set_state(_numpy_state_from_safe(states["numpy"]))
        random.setstate(states["python"])
        if states["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(states["cuda"])


def _ema_update(decay: float, warmup: bool, ema_params, current_params, num_averaged) -> None:
    """torch's EMA update, behind a module-level function so the model pickles (ddp_spawn, submitit).

    `warmup` (model.ema_warmup): the decay is min(decay, (1 + n) / (10 + n)) after n updates, TensorFlow's
    ExponentialMovingAverage rule, so that early in a run the average does not hold on to the random initial G
    (at 0.999 it would still weigh it 37 % after 1,000 updates; with the warm-up, under 1 %)."""
    if warmup:
        n = float(num_averaged)
        decay = min(decay, (1 + n) / (10 + n))
    get_ema_multi_avg_fn(decay)(ema_params, current_params, num_averaged)


# Checkpoints are loaded with `weights_only=True`, which admits tensors and plain Python values but not ndarrays.
def _numpy_state_to_safe(state: tuple) -> tuple:
    kind, keys, pos, has_gauss, cached = state
    return kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)


def _numpy_state_from_safe(state: tuple) -> tuple:
    kind, keys, pos, has_gauss, cached = state
    return kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached
