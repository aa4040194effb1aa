"""What `python -m gan.sample` does (gan/sample.py is its command line): draw samples of a trained GAN into files.

`sample()` checks every option, then asks the model to write its own kind of samples (`GAN.write_samples`):
image GANs call `sample_images`, the Gaussian GAN `sample_gaussian`, the 2-D mixtures `sample_points`.
"""

import math
from pathlib import Path

import torch
from torchvision.utils import save_image

from gan.checkpoint import check_device, find_checkpoint, load_model
from gan.errors import ConfigError
from gan.models.gan import GAN
from gan.render import density_figure, image_grid, save_figure, write_scatters


def seeded_noise(model: GAN, n: int, seed: int) -> torch.Tensor:
    """(n, *latent_shape) noise from the model's distribution, the same for the same seed on any machine."""
    return model.sample_noise(n, device="cpu", generator=torch.Generator().manual_seed(seed))


def interpolate(start: torch.Tensor, end: torch.Tensor, steps: int, spherical: bool) -> torch.Tensor:
    """(steps, *shape) points from `start` to `end`; spherical for Gaussian noise, whose mass lies near a sphere."""
    t = torch.linspace(0, 1, steps).view(-1, *[1] * start.dim())
    if not spherical:
        return (1 - t) * start + t * end
    a, b = start.flatten(), end.flatten()
    omega = torch.arccos(torch.clamp(torch.dot(a / a.norm(), b / b.norm()), -1.0, 1.0))
    if omega.abs() < 1e-6:  # (nearly) the same direction: the straight line is the arc
        return (1 - t) * start + t * end
    return (torch.sin((1 - t) * omega) * start + torch.sin(t * omega) * end) / torch.sin(omega)


GRID_MAX = 100  # images in grid.png at most: -n 10000 still writes a readable picture (all are in images/)


def sample_labels(model: GAN, n: int, label: int | None, per_class: int | None) -> tuple[torch.Tensor | None, int]:
    """(labels (n,) or None, images per grid row): `--label`, `--per-class` or, when conditional, every class in turn."""
    if label is not None and per_class is not None:
        raise ConfigError("--label and --per-class: give either one label or a number per class, not both.")
    if per_class is not None and per_class < 1:
        raise ConfigError(f"--per-class {per_class}: ask for at least one image per class.")
    asked = "--label" if label is not None else "--per-class" if per_class is not None else None
    if asked and not model.conditional:
        raise ConfigError(f"{asked}: this model is not conditional (trained without labels, model.num_classes is "
                          "null); sample it without --label/--per-class.")
    if label is not None:
        labels = torch.full((n,), int(label), dtype=torch.int64)
        model.check_labels(labels, f"--label {label}")
        return labels, math.ceil(math.sqrt(min(n, GRID_MAX)))
    if per_class is not None:
        return torch.arange(model.num_classes).repeat_interleave(per_class), per_class
    return model.balanced_labels(n, device="cpu"), math.ceil(math.sqrt(min(n, GRID_MAX)))


def grid_part(images: torch.Tensor, nrow: int, per_class: int | None) -> tuple[torch.Tensor, int]:
    """At most GRID_MAX of `images` for grid.png: the first ones, or the first columns of every class row."""
    if per_class is None or len(images) <= GRID_MAX:
        return images[:GRID_MAX], nrow
    rows = len(images) // per_class
    columns = max(1, GRID_MAX // rows)
    return images.view(rows, per_class, *images.shape[1:])[:, :columns].flatten(0, 1)[:GRID_MAX], columns


def check_codes(model: GAN, code: int | None, vary: str | None) -> None:
    """One-line errors for `--code`/`--vary` on a model without latent codes or with other names."""
    codes = model.latent_codes()
    asked = "--code" if code is not None else "--vary" if vary is not None else None
    if asked and not codes:
        raise ConfigError(f"{asked}: {model.codes_absent_reason()}; sample it without {asked}.")
    if vary is not None and vary not in codes[1:]:
        raise ConfigError(f"--vary {vary}: this model's continuous codes are {', '.join(codes[1:]) or 'none'}.")


def check_request(model: GAN, label: int | None, per_class: int | None, code: int | None, vary: str | None,
                  steps: int | None, n: int | None = None) -> None:
    """One-line errors for options this model cannot honour, before anything is written."""
    check_codes(model, code, vary)
    if code is not None:
        model.with_codes(seeded_noise(model, 1, 0), categorical=code)  # its one-line error for a code out of range
    model.check_sample_request(n, label=label, per_class=per_class, steps=steps)


def sample_images(model: GAN, n: int, out: Path, seed: int, steps: int | None, label: int | None = None,
                  per_class: int | None = None, code: int | None = None, vary: str | None = None) -> list[Path]:
    """Grid, individual PNGs and the tensor file; with `steps`, an interpolation strip of that many images."""
    if per_class is not None and model.conditional:
        n = per_class * model.num_classes
    labels, nrow = sample_labels(model, n, label, per_class)
    noise = seeded_noise(model, n, seed)
    if code is not None:
        noise = model.with_codes(noise, categorical=code)
    images = model.generate(noise=noise, labels=labels).float().cpu()  # (n, C, H, W)
    written = [out / "grid.png", out / "samples.pt"]
    shown, nrow = grid_part(images, nrow, per_class)
    save_image(shown, written[0], nrow=nrow, normalize=True, value_range=(-1, 1))
    torch.save(images, written[1])
    if labels is not None:
        written.append(out / "labels.pt")
        torch.save(labels, written[-1])
    (out / "images").mkdir(exist_ok=True)
    for i, image in enumerate(images):
        path = out / "images" / f"{i:04d}.png"
        save_image(image, path, normalize=True, value_range=(-1, 1))
        written.append(path)
    if vary is not None:
        varied, columns = model.varied_codes(seeded_noise(model, 1, seed)[0], model.latent_codes().index(vary) - 1, 10)
        swept = model.generate(noise=varied).float().cpu()
        written += [out / f"vary-{vary}.png", out / f"vary-{vary}.pt"]
        save_image(swept, written[-2], nrow=columns, normalize=True, value_range=(-1, 1))
        torch.save(swept, written[-1])
    if steps:
        ends = seeded_noise(model, 2, seed + 1)
        path_noise = interpolate(ends[0], ends[1], steps, spherical=model.hparams.noise == "normal")
        strip_labels = None if labels is None else labels[:1].expand(steps)  # one class along the whole path
        strip = model.generate(noise=path_noise, labels=strip_labels).float().cpu()
        written.append(out / "interpolation.png")
        save_image(image_grid(strip, steps), written[-1])
    return written


def sample_gaussian(model: GAN, n: int, out: Path, seed: int) -> list[Path]:
    """`samples.csv` (one number a line) and `histogram.png` over the target density."""
    samples = model.draw(n, seed=seed).double().cpu()
    csv = out / "samples.csv"
    csv.write_text("sample\n" + "".join(f"{x:.8g}\n" for x in samples.tolist()))
    mean, std = model.hparams.target_mean, model.hparams.target_std
    figure = density_figure(samples, mean, std, title=f"{n} samples from the generator vs N({mean:g}, {std:g})")
    return [csv, save_figure(figure, out / "histogram.png")]


def sample_points(model: GAN, n: int, out: Path, seed: int) -> list[Path]:
    """`samples.csv` (columns x, y) of n generated 2-D points and their scatter figure(s)."""
    points = model.draw(n, seed=seed).double().cpu()
    csv = out / "samples.csv"
    csv.write_text("x,y\n" + "".join(f"{x:.8g},{y:.8g}\n" for x, y in points.tolist()))
    return [csv, *write_scatters(model, n, seed, out / "scatter.png", "from the generator")]


def sample(path: str | Path, n: int | None = None, out: str | Path | None = None, seed: int = 0,
           interpolate_steps: int | None = None, device: str = "cpu", label: int | None = None,
           per_class: int | None = None, code: int | None = None, vary: str | None = None) -> list[Path]:
    """Write samples of the run or checkpoint at `path` to `out`; returns the files written.

    Every option is checked before `out` is made; an earlier sample's files there (and only those) are replaced."""
    from gan.sample import check_values, clear_own_files  # the checks that need no torch: the command line's

    check_values(n, interpolate_steps, out)
    check_device(device)
    model, _ = load_model(path, device=device)
    _, run_dir = find_checkpoint(path)
    out = Path(out) if out is not None else run_dir / "sampled"
    check_values(n, interpolate_steps, out)
    check_request(model, label, per_class, code, vary, interpolate_steps, n)
    out.mkdir(parents=True, exist_ok=True)
    clear_own_files(out)
    return model.write_samples(out, n, seed, steps=interpolate_steps, label=label, per_class=per_class, code=code,
                               vary=vary)
