"""What a GAN says about its labels and codes, for the loop, the callbacks, the evaluator and `gan.sample` to ask.

A model is conditional when it has `num_classes` (hyperparameter `model.num_classes`, from `${data.num_classes}`):
G(z, c) and D(x, c) then take labels c in [0, num_classes). Models with interpretable codes in their noise (InfoGAN)
name them in `latent_codes` and override the code methods. Mixed into `GAN` (gan/models/gan.py).
"""

import torch

from gan.errors import ConfigError


class Conditioning:
    @property
    def num_classes(self) -> int | None:
        """How many labels G and D are conditioned on; None: an unconditional GAN."""
        value = self.hparams.get("num_classes")  # checkpoints saved before conditioning existed have none
        return int(value) if value is not None else None

    @property
    def conditional(self) -> bool:
        return self.num_classes is not None

    def check_labels(self, labels: torch.Tensor | None, what: str = "labels") -> None:
        """One-line errors for labels a model cannot take: any on an unconditional one, or out of range."""
        if labels is None:
            if self.conditional:
                raise ConfigError(f"{type(self).__name__} is conditional ({self.num_classes} classes): "
                                  f"it needs {what} in 0..{self.num_classes - 1}.")
            return
        if not self.conditional:
            raise ConfigError(f"{what}: this model is not conditional (model.num_classes is null); "
                              "it draws without labels.")
        if len(labels) and (labels.min() < 0 or labels.max() >= self.num_classes):
            bad = labels[(labels < 0) | (labels >= self.num_classes)][0].item()
            raise ConfigError(f"{what}: label {bad} is out of range; this model has classes 0..{self.num_classes - 1}.")

    def latent_codes(self) -> list[str]:
        """Names of the interpretable codes in the noise (InfoGAN: categorical, c1, c2); none for other GANs."""
        return []

    def codes_absent_reason(self) -> str:
        """Why `latent_codes()` is empty, in words for `gan.sample --code/--vary`."""
        return "this model has no latent codes (model=infogan has)"

    def categorical_code(self, noise: torch.Tensor) -> torch.Tensor | None:
        """(B,) the categorical code in each noise row, for models that have one (InfoGAN); None otherwise."""
        return None

    def balanced_labels(self, n: int, device: torch.device | str | None = None) -> torch.Tensor | None:
        """(n,) labels 0, 1, ..., K-1, 0, 1, ...: every class equally often (evaluation, `gan.sample`); None if
        unconditional."""
        if not self.conditional:
            return None
        return torch.arange(n, device=device or self.device) % self.num_classes

    def grid_inputs(self, num_samples: int) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
        """(noise, labels or None, images per row or None: the caller's) of the fixed-noise picture.

        Unconditional: the first `num_samples` fixed noise vectors. Conditional: one row per class, the same
        noise vectors across the rows, so a column shows one noise under every label."""
        if not self.conditional:
            return self.fixed_noise[:num_samples], None, None
        k = self.num_classes
        columns = max(1, min(len(self.fixed_noise), num_samples // k))
        noise = self.fixed_noise[:columns].repeat(k, *[1] * (self.fixed_noise.dim() - 1))  # (k * columns, ...)
        labels = torch.arange(k, device=noise.device).repeat_interleave(columns)  # 0 0 0 1 1 1 ...
        return noise, labels, columns
