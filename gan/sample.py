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
Files go to `--out` (default `<run>/sampled`). The EMA generator is used when the run kept one. Sampling again into
a folder replaces the files an earlier `gan.sample` wrote there (the list in OWN_FILES), and only those: no image of
an earlier, larger sample stays beside the new `samples.pt`. Every option is checked before anything is written.
The library behind this command line is gan/sampling.py; this file imports no torch, so `--help` answers at once.
"""

import argparse
from pathlib import Path

from gan.errors import ConfigError, GanError

# What gan.sample writes into its folder: a new sample replaces all of these (and images/<number>.png), nothing else.
OWN_FILES = ("grid.png", "samples.pt", "labels.pt", "interpolation.png", "samples.csv", "histogram.png",
             "scatter.png", "scatter_raw.png")
OWN_PATTERNS = ("vary-*.png", "vary-*.pt")


def check_values(n: int | None, steps: int | None, out: str | Path | None) -> None:
    """One-line errors for values that cannot work, known without torch or the model."""
    if n is not None and n < 1:
        raise ConfigError(f"-n {n}: ask for at least one sample.")
    if steps is not None and steps < 2:
        raise ConfigError(f"--steps {steps}: an interpolation strip needs at least 2 images (its two ends); "
                          "e.g. --steps 10.")
    if out is not None:
        from gan.validate.preflight import (
            unwritable_folder,  # hydra, not torch: after --help
        )

        reason = unwritable_folder(Path(out))
        if reason:
            raise ConfigError(f"--out {out}: {reason}; give --out a folder you can write to (or a new one).")


def clear_own_files(out: Path) -> None:
    """Deletes what an earlier gan.sample wrote into `out` (OWN_FILES, OWN_PATTERNS, images/<number>.png)."""
    for path in [*(out / name for name in OWN_FILES), *(p for pattern in OWN_PATTERNS for p in out.glob(pattern))]:
        path.unlink(missing_ok=True)
    images = out / "images"
    if images.is_dir():
        for path in images.glob("*.png"):
            if path.stem.isdigit():
                path.unlink()
        if not any(images.iterdir()):
            images.rmdir()


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
        check_values(args.n, args.steps if args.interpolate else None, args.out)
        from gan.sampling import (
            sample,  # torch and the models: only once the arguments are known to be good
        )

        written = sample(args.path, args.n, args.out, args.seed, args.steps if args.interpolate else None, args.device,
                         args.label, args.per_class, args.code, args.vary)
    except GanError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"wrote {len(written)} files to {written[0].parent}")


if __name__ == "__main__":
    main()
