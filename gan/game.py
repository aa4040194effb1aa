"""The game as one component: D's and G's objectives, their regularisers and the augmentation before D.

The loop (gan/models/gan.py) makes the fakes and steps the optimizers; `GANLoss` says what each player minimises
and what to log. The split follows NVlabs stylegan2-ada-pytorch's `training/loss.py`: adversarial terms and
penalties are the pure functions of gan/losses.py, the augmentation (gan/augment.py) sits between the data and D
in both updates, and D is always called as D(x, c) with labels `c` (None for unconditional models).

Where D scores each sample on its own (no BatchNorm), its D update scores real and fake in one forward pass over
the two batches joined: one GEMM per layer on 2B rows instead of two on B, the same loss and gradients
(tests/unit/test_speed.py). With dropout the masks are drawn in another order, so a run follows another (equally
likely) path; `model.d_one_pass=false` keeps the original programs' two passes and their exact numbers.
"""

import torch
from torch import nn

from gan.augment import DiffAugment
from gan.errors import ConfigError
from gan.losses import LOSSES, PROBABILITY_LOSSES, gradient_penalty, r1_penalty
from gan.validate import options
from gan.validate.game import check_loss, check_settings

# `model.noise`: what gan.models.gan.draw_noise draws
NOISE = options.table("model.noise", options.NOISES, {"normal": torch.randn, "uniform": torch.rand})


class GANLoss:
    """`model.loss`, `model.gradient_penalty`, `model.r1_gamma`/`model.r1_every` and `model.augment` together.

    `d_loss` and `g_loss` return (loss to minimise, figures to log). R1 is lazy as in StyleGAN2: applied on every
    `r1_every`-th D update only, scaled by `r1_every` so that its average strength stays gamma/2.
    """

    def __init__(self, loss: str = "bce", gradient_penalty: float | None = 0.0, r1_gamma: float | None = 0.0,
                 r1_every: int = 16, augment=None, one_pass: bool = True) -> None:
        check_loss(loss, gradient_penalty, r1_gamma, r1_every)
        self.name = loss
        self.d_adversarial, self.g_adversarial = LOSSES[loss]
        self.gp_weight, self.r1_gamma = float(gradient_penalty or 0.0), float(r1_gamma or 0.0)
        self.r1_every = int(r1_every)
        self.augment = DiffAugment(augment)
        self.last_r1: torch.Tensor | None = None  # logged on the lazy updates between two R1 evaluations too
        self.one_pass = bool(one_pass)
        self._scores_alone: dict[int, bool] = {}  # id(D) -> whether D scores each sample on its own, asked once

    def check(self, discriminator: nn.Module) -> None:
        """Refuses penalties on a D with BatchNorm: their per-sample input gradients mix the whole batch there."""
        penalties = [key for key, on in (("model.gradient_penalty", self.gp_weight), ("model.r1_gamma", self.r1_gamma)) if on]
        if penalties and mixes_samples(discriminator):
            raise ConfigError(
                f"{penalties[0]} needs each sample's own input gradient, but BatchNorm in the discriminator makes it "
                "depend on the whole batch; set model.discriminator.norm=none (or layer, instance), or turn the penalty off."
            )

    def critic(self, discriminator: nn.Module):
        """D as both updates see it: D(augment(x), c)."""
        return lambda x, c=None: discriminator(self.augment(x), c)

    def d_loss(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, c: torch.Tensor | None = None,
               d_update: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's loss on a real slice and detached fakes; `d_update` counts D updates (for the lazy R1)."""
        critic = self.critic(discriminator)
        with_r1 = self.r1_gamma > 0 and d_update % self.r1_every == 0
        if with_r1:
            real = real.detach().requires_grad_(True)  # R1 differentiates D's score in its (un-augmented) input
        real_logits, fake_logits = self.score_real_and_fake(discriminator, real, fake, c)
        loss = self.d_adversarial(real_logits, fake_logits)
        figures = self.scores(real_logits.detach(), fake_logits.detach())
        if self.gp_weight:
            gp = self.gp_weight * gradient_penalty(critic, real, fake, c)
            loss = loss + gp
            figures["train/gp"] = gp.detach()
        if with_r1:
            r1 = self.r1_gamma / 2 * r1_penalty(real_logits, real)
            loss = loss + self.r1_every * r1
            self.last_r1 = r1.detach()
        if self.r1_gamma and self.last_r1 is not None:
            figures["train/r1"] = self.last_r1  # gamma/2 E||grad D(x)||^2 at the latest R1 update
        return loss, {"train/d_loss": loss.detach(), **figures}

    def score_real_and_fake(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                            c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(D's logits on real, on fake): one forward over [real; fake] where that gives the same numbers.

        Each half is augmented on its own first, so DiffAugment draws its parameters exactly as in two passes.
        Two passes where D mixes the samples of a batch (BatchNorm normalises real and fake apart), where packs
        would straddle the two halves, or when `model.d_one_pass=false`.
        """
        if not self.one_pass or len(real) != len(fake) or len(real) % getattr(discriminator, "pack", 1):
            return self.critic(discriminator)(real, c), self.critic(discriminator)(fake, c)
        key = id(discriminator)
        if key not in self._scores_alone:
            self._scores_alone[key] = not mixes_samples(discriminator)
        if not self._scores_alone[key]:
            return self.critic(discriminator)(real, c), self.critic(discriminator)(fake, c)
        joined = torch.cat([self.augment(real), self.augment(fake)])  # (2B, ...)
        logits = discriminator(joined, None if c is None else torch.cat([c, c]))  # (2B / pack,)
        real_logits, fake_logits = logits.chunk(2)
        return real_logits, fake_logits

    def g_loss(self, discriminator: nn.Module, fake: torch.Tensor, c: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = self.g_adversarial(self.critic(discriminator)(fake, c))
        return loss, {"train/g_loss": loss.detach()}

    def scores(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """What D's outputs mean for this loss: probabilities D(x), D(G(z)), or mean scores (and W for a critic)."""
        if self.name in PROBABILITY_LOSSES:
            return {"train/d_real": torch.sigmoid(real_logits).mean(), "train/d_fake": torch.sigmoid(fake_logits).mean()}
        figures = {"train/score_real": real_logits.mean(), "train/score_fake": fake_logits.mean()}
        if self.name in ("wgan", "hinge"):  # the critic's estimate of the Wasserstein-1 distance (up to its scale)
            figures["train/wasserstein"] = figures["train/score_real"] - figures["train/score_fake"]
        return figures


def mixes_samples(discriminator: nn.Module) -> bool:
    """True when D's score of a sample depends on the rest of its batch: BatchNorm's batch statistics."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in discriminator.modules())


def checked_game(discriminator: nn.Module, *, augment=None, d_one_pass: bool = True, pack: int = 1,
                 generator: nn.Module | None = None, **settings) -> GANLoss:
    """The game of these `model.*` settings for `discriminator`, after one clear error for any that cannot work.
    A `generator` that reads its noise in a particular way says so (`check_noise(model.noise)`).

    `settings` are `gan.validate.game.check_settings`'s (plain values). Needs no Lightning: `gan.validate.preflight`
    calls it on networks built on the meta device before Lightning is imported, and `GAN.__init__` to build its loss.
    """
    check_settings(**settings)
    game = GANLoss(settings.get("loss", "bce"), settings.get("gradient_penalty", 0.0), settings.get("r1_gamma", 0.0),
                   settings.get("r1_every", 16), augment, one_pass=d_one_pass)
    game.check(discriminator)
    check_pack(discriminator, pack)
    if hasattr(generator, "check_noise"):
        generator.check_noise(settings.get("noise", "normal"))
    return game


def check_pack(discriminator: nn.Module, pack: int) -> None:
    """`model.pack` is what D applies (`pack: ${model.pack}` in its config): a D that packs otherwise, or not at all,
    is refused rather than the key being ignored."""
    packs = getattr(discriminator, "pack", None)
    if packs is None and int(pack) != 1:
        raise ConfigError(f"model.pack={pack}: {type(discriminator).__name__} judges one sample at a time (no PacGAN "
                          "packing); use model.pack=1.")
    if packs is not None and int(packs) != int(pack):
        raise ConfigError(f"model.discriminator.pack={packs} differs from model.pack={pack}: set model.pack, which "
                          "the discriminator reads.")
