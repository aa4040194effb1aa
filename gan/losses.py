"""Adversarial losses, as pure functions of discriminator logits.

Each is named for the player it trains. The sigmoid lives inside `binary_cross_entropy_with_logits`
(`softplus` below), which is the seeds' sigmoid-then-`BCELoss` written in a numerically stable way.
"""

import torch
import torch.nn.functional as F


def d_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator: BCE with label 1 on real and 0 on fake, the two terms summed as all the seeds do."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator: BCE of D(G(z)) against label 1, i.e. maximise log D(G(z)) (Goodfellow et al. 2014, sec. 3)."""
    return F.softplus(-fake_logits).mean()


def d_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss (Lim & Ye 2017; used by SAGAN and BigGAN)."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator side of the hinge game: raise D's score on fakes."""
    return -fake_logits.mean()


# `model.loss=<name>` picks a (discriminator loss, generator loss) pair.
LOSSES = {
    "bce": (d_loss_bce, g_loss_nonsaturating),
    "hinge": (d_loss_hinge, g_loss_hinge),
}
