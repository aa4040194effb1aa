"""The game's `model.*` settings checked as plain values: no torch, so `gan.run` answers a wrong one in under a
second (gan/validate/preflight.py). `GANLoss` and `GAN` call the same checks, so every path says the same words."""

from gan.errors import ConfigError
from gan.validate.options import LOSSES, NOISES
from gan.validate.values import number, one_of, whole_number


def check_loss(loss: str = "bce", gradient_penalty: float | None = 0.0, r1_gamma: float | None = 0.0,
               r1_every: int = 16) -> None:
    one_of(loss, LOSSES, "model.loss", " Pick one, e.g. model.loss=bce.")
    for key, value in {"model.gradient_penalty": gradient_penalty, "model.r1_gamma": r1_gamma}.items():
        if value is not None and not number(key, value, f"{key}=10") >= 0:
            raise ConfigError(f"{key}={value}: a penalty weight cannot be negative; use 0 (off) or e.g. {key}=10.")
    if whole_number("model.r1_every", r1_every, "model.r1_every=16") < 1:
        raise ConfigError(f"model.r1_every={r1_every}: R1 is applied every r1_every D updates; use 1 or more (16).")


def check_settings(*, loss: str = "bce", gradient_penalty: float | None = 0.0, r1_gamma: float | None = 0.0,
                   r1_every: int = 16, noise: str = "normal", d_steps: int = 1, g_steps: int = 1, g_lr: float = 2e-4,
                   d_lr: float = 2e-4, ema_decay: float | None = None, num_classes: int | None = None,
                   conditional: bool | None = None, compile: bool = False,
                   num_fixed: int = 16) -> None:  # noqa: A002 - model.compile
    """One clear error for a `model.*` setting of the shared loop that cannot work."""
    if conditional and num_classes is None:
        raise ConfigError("model.conditional=true, but the data have no classes (data.num_classes is null); use "
                          "labelled data: data=mnist, or data=image_folder data.labels=folders (one sub-folder per class).")
    if num_classes is not None and whole_number("model.num_classes", num_classes, "model.num_classes=10") < 2:
        raise ConfigError(f"model.num_classes={num_classes}: a conditional GAN needs 2 or more classes; "
                          "null for an unconditional one.")
    one_of(noise, NOISES, "model.noise")
    for key, value in {"model.d_steps": d_steps, "model.g_steps": g_steps}.items():
        if whole_number(key, value, f"{key}=1") < 1:
            raise ConfigError(f"{key}={value}: each training step needs at least one update; use 1 or more.")
    for key, value in {"model.g_lr": g_lr, "model.d_lr": d_lr}.items():
        if not number(key, value, f"{key}=2e-4") > 0:
            raise ConfigError(f"{key}={value}: learning rates must be positive, e.g. {key}=2e-4.")
    if ema_decay is not None and not 0.0 < number("model.ema_decay", ema_decay, "model.ema_decay=0.999") < 1.0:
        raise ConfigError(f"model.ema_decay={ema_decay}: use a value in (0, 1) such as 0.999, or null for no EMA.")
    if whole_number("model.num_fixed", num_fixed, "model.num_fixed=16") < 1:
        raise ConfigError(f"model.num_fixed={num_fixed}: the sample grids are drawn from this many fixed noise "
                          "vectors; use 1 or more, e.g. model.num_fixed=16.")
    check_loss(loss, gradient_penalty, r1_gamma, r1_every)
    if compile and (gradient_penalty or r1_gamma):
        raise ConfigError("model.compile=true with a gradient penalty or R1: they differentiate D's gradient, which "
                          "compiled networks cannot (double backward); set model.compile=false or the penalty to 0.")
