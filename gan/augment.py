"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random, differentiable transformations are applied to real and fake images before D sees them, in the
D update and in the G update, so D cannot tell the two apart by the augmentation and G's gradient flows through
it. The parameters follow the paper's reference code (mit-han-lab/data-efficient-gans, `DiffAugment_pytorch.py`):
brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5]; translation by up to 1/8 of the size, zero padded;
cutout of a square half the size, anywhere. Each sample of a batch draws its own parameters.
"""

from collections.abc import Sequence

import torch

from gan.errors import ConfigError
from gan.validate import options


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """(B, 1, 1, 1) draws from U(0, 1), one per image."""
    return torch.rand(len(x), 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def brightness(x: torch.Tensor, generator=None) -> torch.Tensor:
    return x + (_uniform(x, generator) - 0.5)


def saturation(x: torch.Tensor, generator=None) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)  # (B, 1, H, W): the grey level of each pixel
    return (x - mean) * (_uniform(x, generator) * 2) + mean


def contrast(x: torch.Tensor, generator=None) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def translation(x: torch.Tensor, generator=None, ratio: float = 0.125) -> torch.Tensor:
    """Shifts each image by up to `ratio` of its size; what comes in is zero. A gather, so gradients pass."""
    b, _, h, w = x.shape
    reach_h, reach_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift_h = torch.randint(-reach_h, reach_h + 1, (b, 1, 1), generator=generator, device=x.device)
    shift_w = torch.randint(-reach_w, reach_w + 1, (b, 1, 1), generator=generator, device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # Indices into the image padded by one zero pixel a side: row -1 and row h both land on the padding.
    src_rows = torch.clamp(rows + shift_h + 1, 0, h + 1).expand(b, h, w)
    src_cols = torch.clamp(cols + shift_w + 1, 0, w + 1).expand(b, h, w)
    padded = torch.nn.functional.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # (B, H+2, W+2, C)
    batch = torch.arange(b, device=x.device).view(b, 1, 1).expand(b, h, w)
    return padded[batch, src_rows, src_cols].permute(0, 3, 1, 2).contiguous()  # (B, H, W, C) -> (B, C, H, W)


def cutout(x: torch.Tensor, generator=None, ratio: float = 0.5) -> torch.Tensor:
    """Zeroes one square of `ratio` times the size per image, centred anywhere (clipped at the borders)."""
    b, _, h, w = x.shape
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    centre_h = torch.randint(0, h + (1 - size_h % 2), (b, 1, 1), generator=generator, device=x.device)
    centre_w = torch.randint(0, w + (1 - size_w % 2), (b, 1, 1), generator=generator, device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = centre_h - size_h // 2, centre_w - size_w // 2
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


# name -> transformations, applied in this order whatever order the config lists them in (the paper's
# "color,translation,cutout"), so a set of names is one policy.
AUGMENTATIONS = options.table("model.augment", options.AUGMENTATIONS, {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
})


def parse_policy(augment: str | Sequence[str] | None) -> tuple[str, ...]:
    """`model.augment` as given (null, "translation,cutout", or [translation, cutout]) -> names in applying order."""
    if augment is None:
        return ()
    names = augment.split(",") if isinstance(augment, str) else list(augment)
    names = {str(name).strip() for name in names} - {""}
    unknown = sorted(names - set(AUGMENTATIONS))
    if unknown:
        raise ConfigError(
            f"model.augment: unknown augmentation {', '.join(map(repr, unknown))}; use any of "
            f"{', '.join(AUGMENTATIONS)}, e.g. model.augment=[translation,cutout] or 'model.augment=\"color,translation\"'."
        )
    return tuple(name for name in AUGMENTATIONS if name in names)


class DiffAugment:
    """Callable policy: (B, C, H, W) -> (B, C, H, W), differentiable; identity when the policy is empty."""

    def __init__(self, augment: str | Sequence[str] | None = None) -> None:
        self.policy = parse_policy(augment)

    def __bool__(self) -> bool:
        return bool(self.policy)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not self.policy:
            return x
        if x.dim() != 4:
            raise ConfigError(
                f"model.augment={','.join(self.policy)} transforms images (B, C, H, W), but D's input has shape "
                f"{tuple(x.shape)}; set model.augment=null for this model."
            )
        for name in self.policy:
            for transform in AUGMENTATIONS[name]:
                x = transform(x, generator)
        return x
