"""InfoGAN (Chen et al. 2016): latent codes beside the noise, and a Q head that recovers them from the fakes.

The generator's input is (B, noise_dim + categorical + continuous): normal noise z, a one-hot categorical code
(10-way on MNIST) and continuous codes uniform in [-1, 1]. Q shares D's body (`discriminator.codes(x)`) and is
trained with both players on the mutual-information lower bound: cross-entropy of the categorical code plus,
weighted by `continuous_weight`, a unit-variance Gaussian log-likelihood (half the squared error) of the
continuous ones, all times `info_weight`. No labels are used; the loop hook is `code_loss` (gan/models/gan.py).
With `categorical=0, continuous=0` there are no codes and no Q: a plain GAN on InfoGAN's networks (mnist_best).
"""

import torch
import torch.nn.functional as F

from gan.errors import ConfigError
from gan.models.gan import draw_noise
from gan.models.image import ImageGAN


class InfoGAN(ImageGAN):
    def __init__(self, *args, latent_shape, categorical: int = 10, continuous: int = 2, info_weight: float = 1.0,
                 continuous_weight: float = 0.1, **kwargs) -> None:
        latent = latent_shape
        plain = int(categorical) == 0 and int(continuous) == 0  # no codes: a plain GAN on these networks
        too_few = int(categorical) < 2 and not plain
        if too_few or int(continuous) < 0 or int(latent[-1]) <= int(categorical) + int(continuous):
            raise ConfigError(f"model.categorical={categorical}, model.continuous={continuous}: the generator's input "
                              f"({latent[-1]}) holds the noise and the codes; it needs >= 2 categories, >= 0 continuous "
                              "codes and some noise beside them (or 0 and 0).")
        super().__init__(*args, latent_shape=latent_shape, **kwargs)

    # ---- the latent: z, then the one-hot code, then the continuous codes ------------------------------
    @property
    def noise_dim(self) -> int:
        return int(self.hparams.latent_shape[-1]) - self.hparams.categorical - self.hparams.continuous

    @property
    def has_codes(self) -> bool:
        return self.hparams.categorical > 0

    def latent_codes(self) -> list[str]:
        if not self.has_codes:
            return []
        return ["categorical", *[f"c{i + 1}" for i in range(self.hparams.continuous)]]

    def codes_absent_reason(self) -> str:
        return ("this run was trained without codes (model.categorical=0, model.continuous=0: a plain GAN on "
                "InfoGAN's networks, as experiment=mnist_best)")

    def sample_noise(self, n: int, device=None, generator: torch.Generator | None = None) -> torch.Tensor:
        if not self.has_codes:
            return super().sample_noise(n, device, generator)
        device = device or self.device
        z = draw_noise(self.hparams.noise, (n, self.noise_dim), generator, device)
        code = torch.randint(self.hparams.categorical, (n,), generator=generator, device=device)
        continuous = torch.rand((n, self.hparams.continuous), generator=generator, device=device) * 2 - 1
        return torch.cat([z, F.one_hot(code, self.hparams.categorical).to(z.dtype), continuous], dim=1)

    def with_codes(self, noise: torch.Tensor, categorical: torch.Tensor | int | None = None,
                   continuous: dict[int, torch.Tensor | float] | None = None) -> torch.Tensor:
        """`noise` with its categorical code and/or continuous codes (index -> value(s)) replaced."""
        noise, k, start = noise.clone(), self.hparams.categorical, self.noise_dim
        if categorical is not None:
            code = torch.as_tensor(categorical, device=noise.device).expand(len(noise))
            if code.min() < 0 or code.max() >= k:
                raise ConfigError(f"--code {int(code.max() if code.max() >= k else code.min())}: the categorical code "
                                  f"takes 0..{k - 1}.")
            noise[:, start:start + k] = F.one_hot(code.long(), k).to(noise.dtype)
        for index, value in (continuous or {}).items():
            noise[:, start + k + index] = torch.as_tensor(value, dtype=noise.dtype, device=noise.device)
        return noise

    def categorical_code(self, noise: torch.Tensor) -> torch.Tensor | None:
        """(B,) the categorical code each noise row asks for (the evaluator matches them to classes); None without."""
        if not self.has_codes:
            return None
        return noise[:, self.noise_dim:self.noise_dim + self.hparams.categorical].argmax(1)

    def varied_codes(self, z: torch.Tensor, vary: int, columns: int) -> tuple[torch.Tensor, int]:
        """One row per categorical value and `columns` values of continuous code `vary` from -1 to 1 along each
        row; the same z and the other continuous codes at 0 everywhere: (categorical * columns, latent) noise."""
        k = self.hparams.categorical
        base = self.with_codes(z.reshape(1, -1).expand(k * columns, -1), continuous={
            i: 0.0 for i in range(self.hparams.continuous)})
        base = self.with_codes(base, categorical=torch.arange(k, device=z.device).repeat_interleave(columns))
        values = torch.linspace(-1, 1, columns, device=z.device).repeat(k)
        return self.with_codes(base, continuous={vary: values}), columns

    def grid_inputs(self, num_samples: int):
        """Categorical code along the rows, the first continuous code along the columns, one fixed z."""
        if self.hparams.continuous == 0:  # also without codes: the first fixed noise vectors
            return super().grid_inputs(num_samples)
        columns = max(2, num_samples // self.hparams.categorical)
        noise, nrow = self.varied_codes(self.fixed_noise[0], 0, columns)
        return noise, None, nrow

    # ---- the mutual-information term ------------------------------------------------------------------
    def code_loss(self, fake: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, dict] | None:
        if not self.has_codes:
            return None
        k = self.hparams.categorical
        categorical_logits, continuous = self.discriminator.codes(fake)  # (B, k), (B, continuous)
        categorical = F.cross_entropy(categorical_logits, self.categorical_code(noise))
        asked = noise[:, self.noise_dim + k:]
        gaussian = 0.5 * (continuous - asked).pow(2).sum(1).mean() if asked.shape[1] else categorical.new_zeros(())
        loss = categorical + self.hparams.continuous_weight * gaussian
        return self.hparams.info_weight * loss, {"info_categorical": categorical.detach(),
                                                 "info_continuous": gaussian.detach()}
