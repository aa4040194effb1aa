"""Adversarial losses, as pure functions of discriminator logits, and the penalties, as pure functions of what
they need. `gan.game.GANLoss` puts them together for the loop.

Each adversarial term is named for the player it trains. The sigmoid lives inside `softplus` (the stable form of
`binary_cross_entropy_with_logits`), which is the originals' sigmoid-then-`BCELoss` written in a numerically stable way:
softplus(-l) = -log sigmoid(l) = -log D(x), softplus(l) = -log(1 - D(x)).
"""

import torch
import torch.nn.functional as F

from gan.validate import options


# ---- the original game and its non-saturating variant (Goodfellow et al. 2014) -------------------
def d_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator: BCE with label 1 on real and 0 on fake, the two terms summed as all the original programs do.

    It is -[log D(x) + log(1 - D(G(z)))], i.e. D's side of the minimax value V(D, G), for `bce` and `minimax` alike.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator: BCE of D(G(z)) against label 1, i.e. maximise log D(G(z)) (Goodfellow et al. 2014, sec. 3)."""
    return F.softplus(-fake_logits).mean()


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator of the lecture's formula: minimise log(1 - D(G(z))). Saturates: no gradient once D rejects fakes."""
    return -F.softplus(fake_logits).mean()


# ---- hinge (Lim & Ye 2017; SAGAN, BigGAN) ----------------------------------------------------------
def d_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss: real scores pushed above 1, fake scores below -1."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator side of the hinge game: raise D's score on fakes."""
    return -fake_logits.mean()


# ---- least squares (Mao et al. 2017, the 0-1 coding a=0, b=c=1) --------------------------------------
def d_loss_lsgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator: D's raw score regressed to 1 on real and 0 on fake, 1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2."""
    return 0.5 * (real_logits - 1.0).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()


def g_loss_lsgan(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator: 1/2 (D(G(z)) - 1)^2, fakes scored as real."""
    return 0.5 * (fake_logits - 1.0).pow(2).mean()


# ---- Wasserstein (Arjovsky et al. 2017): a critic with no sigmoid --------------------------------
def d_loss_wgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Critic: minus the Wasserstein estimate, E[D(G(z))] - E[D(x)]. Needs a Lipschitz bound (GP or spectral norm)."""
    return fake_logits.mean() - real_logits.mean()


def g_loss_wgan(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


# `model.loss=<name>` picks a (discriminator loss, generator loss) pair.
LOSSES = options.table("model.loss", options.LOSSES, {
    "bce": (d_loss_bce, g_loss_nonsaturating),
    "minimax": (d_loss_bce, g_loss_minimax),
    "hinge": (d_loss_hinge, g_loss_hinge),
    "lsgan": (d_loss_lsgan, g_loss_lsgan),
    "wgan": (d_loss_wgan, g_loss_wgan),
})
# Losses whose D output is a logit of "real": D(x) = sigmoid(logit) is a probability worth showing. The others'
# outputs are scores (lsgan's regressed to 1 and 0; wgan's and hinge's unbounded), shown as their means.
PROBABILITY_LOSSES = ("bce", "minimax")


# ---- penalties ----------------------------------------------------------------------------------
def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, c: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): mean of (||grad_x D(x_hat)||_2 - 1)^2 over random interpolates
    x_hat = a * real + (1 - a) * fake, one a ~ U(0, 1) per sample. Unweighted; differentiable in D's weights."""
    alpha = torch.rand((len(real),) + (1,) * (real.dim() - 1), generator=generator, device=real.device, dtype=real.dtype)
    between = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(between, c).sum(), between, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1.0).pow(2).mean()  # (B, ...) -> (B,) norms -> scalar


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): mean over real samples of ||grad_x D(x)||^2. Unweighted (the weight is gamma/2).

    `real` must have required gradients before D saw it."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()  # (B, ...) -> (B,) squared norms -> scalar
