"""Learning-rate decay for the toy GANs: constant, then linearly down to zero at the run's last step.

A GAN near its equilibrium keeps circling it with a radius set by the step size; decaying both players'
rates to zero over the last part of the run lets the end state (what a user gets) settle instead of stopping
at a random point of the circle (the "constant then linear decay" schedule of pix2pix and CycleGAN).
"""

import pytorch_lightning as pl

from gan.steps import planned_training_steps


def decay_factor(step: int, total: int, start: float) -> float:
    """1 until `start * total` steps are done, then linearly down to 0 at step `total`."""
    remaining = (total - step) / max(1.0, total * (1.0 - start))
    return max(0.0, min(1.0, remaining))


def apply_lr_decay(module: pl.LightningModule, start: float | None) -> None:
    """Set each optimizer's rate for the coming training step: (model.d_lr, model.g_lr) times `decay_factor`.

    Computed from the step count alone, so a resumed run continues the same schedule.
    """
    if start is None or module.trainer.fast_dev_run:
        return
    total = planned_training_steps(module.trainer)
    if not total:
        return
    factor = decay_factor(module.training_steps_done, total, start)
    d_opt, g_opt = module.optimizers()
    for optimizer, lr in ((d_opt, module.hparams.d_lr), (g_opt, module.hparams.g_lr)):
        for group in optimizer.param_groups:
            group["lr"] = lr * factor
