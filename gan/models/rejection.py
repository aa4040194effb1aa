"""Discriminator rejection sampling (DRS; Azadi et al. 2019, "Discriminator Rejection Sampling", ICLR).

A continuous G fed connected noise leaves thin strings of samples between the modes of a mixture
(docs/mixtures.md). Once G is trained, a classifier of real vs G's points trained with the logistic loss
estimates the log density ratio log p_data(x) / p_G(x) by its logit (the optimal D of the original GAN game).
Rejection sampling then keeps a draw x of G with probability

    min(1, p_data(x) / (M p_G(x))) = min(1, exp(logit(x) - log M)).

With log M the largest logit seen on G's draws the kept points follow the critic's estimate of p_data
exactly. Like Azadi et al.'s shift gamma, a lower log M trades that exactness for keeping more: we take the
median logit less a margin (`model.drs_quantile`, `model.drs_margin`), so every draw the critic finds about as
data-like as G's typical draw is kept, and draws e^margin times less data-like or worse (the strings in the
gaps between modes, where real points are rare) are thinned in proportion.
Azadi et al. fine-tune the GAN's own D; ours judges packs
of points, so a fresh point critic (`PointDiscriminator`, pack 1) is fitted to G's final samples instead.
Kept draws can only come from where G puts mass: a mode G misses stays missed.
"""

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits


class RejectionSampler(nn.Module):
    """A point critic and the log-ratio ceiling log M; both live in the model's checkpoint, so `gan.sample`
    keeps exactly the points the run's own figures were measured on."""

    def __init__(self, critic: nn.Module) -> None:
        super().__init__()
        self.critic = critic
        self.register_buffer("ceiling", torch.tensor(0.0))  # log M
        self.register_buffer("fit_done", torch.tensor(False))  # in checkpoints: a sampled run keeps rejecting

    @property
    def fitted(self) -> bool:
        return bool(self.fit_done)

    def fit(self, real: Callable[[int], torch.Tensor], fake: Callable[[int], torch.Tensor], steps: int,
            batch_size: int, lr: float, quantile: float = 1.0, margin: float = 0.0,
            burn_in: int = 10_000) -> dict[str, float]:
        """Trains the critic for `steps` logistic-loss updates on `batch_size` real and fake points each, its rate
        decayed linearly to 0 over the second half; then sets log M to the `quantile` of its logits on `burn_in`
        fresh fakes, less `margin` (1 and 0: the largest logit, exact rejection sampling). `real(n)`, `fake(n)`:
        (n, dim) points, fakes without a graph. Returns the last loss and log M."""
        optimizer = torch.optim.Adam(self.critic.parameters(), lr=lr, betas=(0.5, 0.999))
        target = torch.cat([torch.ones(batch_size), torch.zeros(batch_size)]).to(self.ceiling.device)
        loss = torch.tensor(float("nan"))
        self.critic.train()
        for step in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = lr * min(1.0, 2.0 * (steps - step) / steps)
            logits = self.critic(torch.cat([real(batch_size), fake(batch_size)]))  # (2 * batch_size,)
            loss = binary_cross_entropy_with_logits(logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        self.critic.eval()
        with torch.no_grad():
            logits = self.critic(fake(burn_in))  # (burn_in,)
            self.ceiling.copy_((logits.max() if quantile >= 1 else torch.quantile(logits, quantile)) - margin)
            self.fit_done.fill_(True)
        return {"critic_loss": float(loss.detach()), "log_ratio_ceiling": float(self.ceiling)}

    @torch.no_grad()
    def keep(self, points: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n,) booleans: which of G's (n, dim) `points` are kept, each with probability exp(logit - log M)."""
        accept = (self.critic(points) - self.ceiling).clamp(max=0.0).exp()
        return torch.rand(len(points), generator=generator, device=points.device) < accept

    def sample(self, draw: Callable[[int], torch.Tensor], n: int, generator: torch.Generator | None = None,
               chunk: int = 10_000, max_draws: int = 10_000_000) -> tuple[torch.Tensor, float]:
        """(n kept points, the share of draws kept); `draw(m)` gives m of G's points. One clear error when fewer
        than n are kept in `max_draws` draws (a critic that rejects nearly everything)."""
        kept, drawn, count = [], 0, 0
        while count < n:
            if drawn >= max_draws:
                raise RuntimeError(f"discriminator rejection sampling kept {count} of {drawn} draws, fewer than the "
                                   f"{n} asked for; the critic rejects almost all of G's samples (model.sampling=raw "
                                   "draws without it).")
            points = draw(chunk)
            kept.append(points[self.keep(points, generator)])
            drawn, count = drawn + len(points), count + len(kept[-1])
        return torch.cat(kept)[:n], count / drawn
