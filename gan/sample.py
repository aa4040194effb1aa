"""Draw samples from a trained GAN: a run directory or a checkpoint in, files out. Works on CPU.

    python -m gan.sample outputs/runs/dcgan-tomjerry/<date>                 # 64 images from checkpoints/last.ckpt
    python -m gan.sample path/to/checkpoints/last.ckpt -n 16 --out my_samples --seed 1
    python -m gan.sample outputs/runs/dcgan-tomjerry/<date> --interpolate   # plus a latent interpolation strip
    python -m gan.sample outputs/runs/gaussian-gaussian/<date> -n 10000     # the 1-D Gaussian GAN
    python -m gan.sample outputs/runs/cgan-mnist/<date> --label 3 -n 16     # a conditional model: sixteen 3s
    python -m gan.sample outputs/runs/cgan-mnist/<date> --per-class 8       # 8 of each class, one row per class
    python -m gan.sample outputs/runs/infogan-mnist/<date> --code 4 --vary c1  # InfoGAN: code 4; and c1 swept

Image GANs write `grid.png` (the first 100 images at most; per class: one row per class), `images/0000.png ...`
and `samples.pt` ((N, C, H, W) float in [-1, 1]), all N of them; conditional models also `labels.pt` ((N,) int64,
every class in turn unless `--label` or `--per-class` says otherwise). `--interpolate` adds `interpolation.png`.
InfoGAN: `--code K` fixes the categorical code of every sample; `--vary c1` adds `vary-c1.png` (and `vary-c1.pt`):
one row per categorical code, c1 from -1 to 1 along the columns, the same noise everywhere. The Gaussian GAN writes `samples.csv` and `histogram.png`.
A 2-D mixture run (data=ring, data=grid) writes `samples.csv` (columns x, y) and `scatter.png`.
Files go to `--out` (default `<run>/sampled`). The EMA generator is used when the run kept one.
"""

import argparse
import math
from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image

from gan.checkpoint import find_checkpoint, load_model
from gan.errors import ConfigError, GanError
from gan.models.gan import GAN


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
        raise ConfigError(f"{asked}: this model has no latent codes (model=infogan has); sample it without {asked}.")
    if vary is not None and vary not in codes[1:]:
        raise ConfigError(f"--vary {vary}: this model's continuous codes are {', '.join(codes[1:]) or 'none'}.")


def sample_images(model: GAN, n: int, out: Path, seed: int, steps: int | None, label: int | None = None,
                  per_class: int | None = None, code: int | None = None, vary: str | None = None) -> list[Path]:
    """Grid, individual PNGs and the tensor file; with `steps`, an interpolation strip of that many images."""
    check_codes(model, code, vary)
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
        save_image(make_grid(strip, nrow=steps, normalize=True, value_range=(-1, 1)), written[-1])
    return written


def sample_gaussian(model: GAN, n: int, out: Path, seed: int) -> list[Path]:
    """`samples.csv` (one number a line) and `histogram.png` over the target density."""
    from gan.callbacks.gaussian import density_figure  # matplotlib only where it is needed

    samples = model.draw(n, seed=seed).double().cpu()
    csv = out / "samples.csv"
    csv.write_text("sample\n" + "".join(f"{x:.8g}\n" for x in samples.tolist()))
    mean, std = model.hparams.target_mean, model.hparams.target_std
    figure = density_figure(samples, mean, std, title=f"{n} samples from the generator vs N({mean:g}, {std:g})")
    figure.savefig(out / "histogram.png", dpi=100)
    return [csv, out / "histogram.png"]


def sample(path: str | Path, n: int | None = None, out: str | Path | None = None, seed: int = 0,
           interpolate_steps: int | None = None, device: str = "cpu", label: int | None = None,
           per_class: int | None = None, code: int | None = None, vary: str | None = None) -> list[Path]:
    """Write samples of the run or checkpoint at `path` to `out`; returns the files written."""
    model, _ = load_model(path, device=device)
    _, run_dir = find_checkpoint(path)
    out = Path(out) if out is not None else run_dir / "sampled"
    out.mkdir(parents=True, exist_ok=True)
    if n is not None and n < 1:
        raise ConfigError(f"-n {n}: ask for at least one sample.")
    if model.sample_kind == "numbers":
        if label is not None or per_class is not None:
            raise ConfigError("--label/--per-class: this model is not conditional; sample it without them.")
        check_codes(model, code, vary)
        return sample_gaussian(model, n or 10_000, out, seed)
    if model.sample_kind == "points":  # 2-D mixtures: samples.csv (x, y) and scatter.png
        from gan.callbacks.mixture import write_samples

        return write_samples(model, n or 2500, out, seed)
    if model.sample_kind == "images":
        return sample_images(model, n or 64, out, seed, interpolate_steps, label, per_class, code, vary)
    raise ConfigError(
        f"{type(model).__name__} draws neither images nor numbers (its sample_kind is {model.sample_kind!r}); "
        "gan.sample cannot draw it."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gan.sample", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="a run directory (uses checkpoints/last.ckpt) or a .ckpt file")
    parser.add_argument("-n", type=int, default=None, help="how many samples (default: 64 images, 10000 numbers)")
    parser.add_argument("--out", default=None, help="output folder (default: <run>/sampled)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed: the same seed gives the same samples")
    parser.add_argument("--interpolate", action="store_true", help="also write a latent interpolation strip")
    parser.add_argument("--steps", type=int, default=10, help="images in the interpolation strip")
    parser.add_argument("--device", default="cpu", help="e.g. cuda; the checkpoint's device does not matter")
    parser.add_argument("--label", type=int, default=None, help="conditional models: draw this class only")
    parser.add_argument("--per-class", type=int, default=None, help="conditional models: N of each class (ignores -n)")
    parser.add_argument("--code", type=int, default=None, help="InfoGAN: the categorical code of every sample")
    parser.add_argument("--vary", default=None, help="InfoGAN: also write vary-<c>.png sweeping this code, e.g. c1")
    args = parser.parse_args(argv)
    try:
        written = sample(args.path, args.n, args.out, args.seed, args.steps if args.interpolate else None, args.device,
                         args.label, args.per_class, args.code, args.vary)
    except GanError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"wrote {len(written)} files to {written[0].parent}")


if __name__ == "__main__":
    main()
