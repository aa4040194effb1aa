"""Score any trained generator offline: the same figures a run writes to metrics.json, for any checkpoint.

    python -m gan.evaluate outputs/runs/vanilla-mnist/2026-01-01_12-00-00          # its checkpoints/last.ckpt
    python -m gan.evaluate outputs/runs/.../checkpoints/best-004.ckpt --samples 5000
    python -m gan.evaluate RUN --feature-extractor outputs/cache/features/mnist-classifier.pt --data-dir data

Prints a table and writes `<run>/evaluation.json` (or `--output`). Image GANs: FID, KID and class entropy
over the project's own MNIST/FashionMNIST classifier (`python -m gan.features`), beside the real-vs-real
floor (as many train images scored against the same held-out images) and log(classes); standard Inception
FID only with `--inception-weights` naming a local file. Gaussian GANs: moment errors, KS and W1 against
the target. Nothing is downloaded.
"""

import argparse
import json
import time
from pathlib import Path

import hydra
import torch
from omegaconf import OmegaConf, open_dict

from gan.checkpoint import find_checkpoint, load_model
from gan.errors import ConfigError, GanError
from gan.models.image import ImageGAN

FLOORS = {"fid": "fid_floor", "kid": "kid_floor", "inception_fid": "inception_fid_floor"}


def evaluate(
    path: str | Path,
    samples: int | None = None,
    feature_extractor: str | None = None,
    inception_weights: str | None = None,
    data_dir: str | None = None,
    output: str | Path | None = None,
    device: str = "cpu",
    seed: int = 0,
) -> dict:
    """Load the checkpoint (a run directory gives its last.ckpt), score it, write and return the report."""
    ckpt_path, run_dir = find_checkpoint(path)
    model, cfg = load_model(ckpt_path, device=device)
    overrides = {"eval_samples": samples, "feature_extractor": feature_extractor, "inception_weights": inception_weights}
    for key, value in overrides.items():
        if value is not None:
            if key not in model.hparams:
                raise ConfigError(f"--{key.replace('_', '-')} does not apply to {type(model).__name__}.")
            model.hparams[key] = int(value) if key == "eval_samples" else value
    report: dict = {"checkpoint": str(ckpt_path), "model": type(model).__name__}
    start = time.perf_counter()
    if isinstance(model, ImageGAN):
        report["measured"], report["not_measured"] = model.describe_quality()
        datamodule = _datamodule(cfg, data_dir)
        report["figures"] = model.evaluate(datamodule=datamodule, seed=seed) if report["measured"] else {}
    else:
        with torch.random.fork_rng(devices=[]):  # the Gaussian GAN seeds its own draws; keep callers' RNG
            report["figures"] = model.evaluate()
    report["eval_time_s"] = time.perf_counter() - start
    target = Path(output) if output else run_dir / "evaluation.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n")
    report["written_to"] = str(target)
    return report


def _datamodule(cfg, data_dir: str | None):
    """The run's own data (held-out split as reference, train split for the floor), read from `data_dir`."""
    data_cfg = cfg.data.copy()
    if data_dir is not None:
        with open_dict(data_cfg):
            for key in ("data_dir", "root"):  # MNIST names its folder data_dir, an image folder root
                if key in data_cfg:
                    data_cfg[key] = str(Path(data_dir) / Path(data_cfg[key]).name) if key == "root" else data_dir
    datamodule = hydra.utils.instantiate(OmegaConf.create(OmegaConf.to_container(data_cfg, resolve=True)))
    datamodule.setup("fit")
    return datamodule


def format_report(report: dict) -> str:
    """The figures as an aligned table, each beside its floor (and class entropy beside log(classes))."""
    figures = report.get("figures", {})
    lines = [f"{report['model']} from {report['checkpoint']}"]
    lines += [f"  measured:     {m}" for m in report.get("measured", [])]
    lines += [f"  not measured: {m}" for m in report.get("not_measured", [])]
    shown = set()
    for key, value in figures.items():
        if key in shown or key.endswith("_floor") or key in ("class_entropy_real", "class_entropy_uniform"):
            continue
        beside = ""
        if key in FLOORS and FLOORS[key] in figures:
            beside = f"   real-vs-real floor {figures[FLOORS[key]]:.4g}"
        elif key == "class_entropy" and "class_entropy_uniform" in figures:
            real = figures.get("class_entropy_real")
            beside = f"   uniform log(K) {figures['class_entropy_uniform']:.4f}" + (
                f", real train images {real:.4f}" if real is not None else ""
            )
        shown_value = f"{int(value):>12d}" if float(value).is_integer() and key != "class_entropy" else f"{value:>12.4g}"
        lines.append(f"  {key:<16} {shown_value}{beside}")
        shown.add(key)
    if not figures:
        lines.append("  (no figures: nothing could be measured for this model and data)")
    lines.append(f"written to {report['written_to']} in {report['eval_time_s']:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gan.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="a run directory (uses checkpoints/last.ckpt) or a .ckpt file")
    parser.add_argument("--samples", type=int, help="generated and real images per figure (default: the run's)")
    parser.add_argument("--feature-extractor", help="classifier file from `python -m gan.features` (default: the run's)")
    parser.add_argument("--inception-weights", help="local FID Inception weights, for standard FID (needs torch-fidelity)")
    parser.add_argument("--data-dir", help="where the run's dataset is read from, if not where it was at training")
    parser.add_argument("--output", help="report file (default: <run>/evaluation.json)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    parser.add_argument("--seed", type=int, default=0, help="seed of the evaluation noise and subsets")
    args = parser.parse_args(argv)
    try:
        report = evaluate(
            args.path, args.samples, args.feature_extractor, args.inception_weights, args.data_dir, args.output,
            args.device, args.seed,
        )
    except GanError as error:
        raise SystemExit(f"error: {error}") from None
    print(format_report(report))


if __name__ == "__main__":
    main()
