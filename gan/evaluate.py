"""Score any trained generator offline: the same figures a run writes to metrics.json, for any checkpoint.

    python -m gan.evaluate outputs/runs/vanilla-mnist/2026-01-01_12-00-00          # its checkpoints/last.ckpt
    python -m gan.evaluate outputs/runs/.../checkpoints/best-004.ckpt --samples 5000
    python -m gan.evaluate RUN --cache-dir /shared/gan-cache --data-dir data

Prints a table and writes `<run>/evaluation.json` (or `--output`). The run's model says what judges it
(gan/eval/evaluator.py). Image GANs: FID, KID, precision/recall/density/coverage and class entropy over the
project's own classifier of the 28 x 28 set (MNIST, FashionMNIST or KMNIST; trained here first if the cache has
none), each beside the real-vs-real floor (as many train images scored against the same held-out images); standard
Inception FID with `--inception-weights` (a local file, or `download`: torch's hub cache's copy, fetched once if
missing; default: the run's eval.inception). Gaussian GANs: moment errors, KS and W1 against the target. Nothing is
downloaded unless asked. `--samples` below what the figures need (200 images: evaluator.min_samples) is
scored with a warning. When the real reference features are cached, no real image is read, and `--data-dir`
says so. This file imports torch only once the arguments are parsed, so `--help` answers at once.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from gan.errors import ConfigError, GanError

DATA_ADVICE = ("Give gan.evaluate the folder it is in now: --data-dir <folder> (for MNIST the one holding "
               "MNIST/raw; for an image folder its parent).")

FLOORED = ("fid", "kid", "inception_fid", "precision", "recall", "density", "coverage")


def evaluate(
    path: str | Path,
    samples: int | None = None,
    feature_extractor: str | None = None,
    inception_weights: str | None = None,
    data_dir: str | None = None,
    output: str | Path | None = None,
    device: str = "cpu",
    seed: int = 0,
    cache_dir: str | None = None,
) -> dict:
    """Load the checkpoint (a run directory gives its last.ckpt), score it, write and return the report.

    `cache_dir` (default: the run's own, unless GAN_CACHE_DIR says otherwise) holds the classifier and the real
    reference features; with it, the classifier is `<cache_dir>/features/<dataset>-classifier.pt`."""
    check_values(samples, output)
    from gan.checkpoint import check_device, find_checkpoint, load_model
    from gan.console import quiet_lightning

    check_device(device)
    quiet_lightning()
    ckpt_path, run_dir = find_checkpoint(path)
    target = Path(output) if output else run_dir / "evaluation.json"
    check_values(samples, target)
    model, cfg = load_model(ckpt_path, device=device)
    data_cfg = _data_config(cfg, data_dir)
    cache_dir = cache_dir or os.environ.get("GAN_CACHE_DIR") or cfg.paths.get("cache_dir")
    dataset = data_cfg.get("dataset")
    overrides = {"samples": samples, "feature_extractor": feature_extractor, "inception_weights": inception_weights}
    if feature_extractor is not None:
        overrides["feature_build"] = {}  # the file named, not one keyed by the run's build settings
    elif cache_dir and dataset and (cfg.model.get("evaluation") or {}).get("feature_extractor"):
        overrides["feature_extractor"] = str(Path(cache_dir).expanduser() / "features" / f"{dataset}-classifier.pt")
    evaluator = model.evaluator(data=data_cfg, cache_dir=cache_dir, seed=seed, **overrides)
    report: dict = {"checkpoint": str(ckpt_path), "model": type(model).__name__, "warnings": []}
    if evaluator is not None:
        report["warnings"] = _check_inputs(evaluator, data_cfg, data_dir, samples)
    start = time.perf_counter()
    if evaluator is None:
        report["measured"], report["not_measured"], report["figures"] = [], ["nothing: the model has no evaluator"], {}
    else:
        report["measured"], report["not_measured"] = evaluator.describe()
        report["figures"] = evaluator.evaluate(model)
        if "fid" in report["figures"] and getattr(evaluator, "feature_space", None):
            report["features"] = evaluator.feature_space()  # which features fid, kid, ... are computed in
    report["eval_time_s"] = time.perf_counter() - start
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n")
    report["written_to"] = str(target)
    return report


def check_values(samples: int | None, output: str | Path | None) -> None:
    """One line for a sample count or report file that cannot work, known without torch or the model."""
    if samples is not None and samples < 1:
        raise ConfigError(f"--samples {samples}: score at least one sample (the figures want 200 or more; "
                          "default: the run's model.eval_samples).")
    if output is not None:
        from gan.validate.preflight import (
            unwritable_folder,  # hydra, not torch: after --help
        )

        output = Path(output).expanduser()
        reason = "that is a folder; name a file" if output.is_dir() else unwritable_folder(output.parent)
        if reason is None and output.exists() and not os.access(output, os.W_OK):
            reason = "permission denied: it is not writable"
        if reason:
            raise ConfigError(f"--output {output}: {reason}; give --output a file in a folder you can write to.")


def _check_inputs(evaluator, data_cfg, data_dir: str | None, samples: int | None) -> list[str]:
    """The data the evaluator will read is there (else one line naming --data-dir); warnings for the rest."""
    from gan.validate.data import check_data

    warnings = []
    if samples is not None and samples < evaluator.min_samples:
        warnings.append(f"--samples {samples} is below the {evaluator.min_samples} these figures need to mean "
                        "something (docs/evaluation.md); read them as noise.")
    if evaluator.reads_data():
        check_data(data_cfg, advice=DATA_ADVICE)
    elif data_dir is not None and evaluator.can_measure():
        warnings.append(f"--data-dir {data_dir} is not read: the real reference features of this data are cached in "
                        f"{evaluator.cache_dir}; delete them there to compute them again from {data_dir}.")
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr, flush=True)
    return warnings


def _data_config(cfg, data_dir: str | None):
    """The run's own data (held-out split as reference, train split for the floor), read from `data_dir`."""
    from omegaconf import open_dict

    data_cfg = cfg.data.copy()
    if data_dir is not None:
        with open_dict(data_cfg):
            for key in ("data_dir", "root"):  # MNIST names its folder data_dir, an image folder root
                if key in data_cfg:
                    data_cfg[key] = str(Path(data_dir) / Path(data_cfg[key]).name) if key == "root" else data_dir
    return data_cfg


def format_report(report: dict) -> str:
    """The figures as an aligned table, each beside its real-vs-real floor (class entropy beside log(classes))."""
    figures = report.get("figures", {})
    lines = [f"{report['model']} from {report['checkpoint']}"]
    lines += [f"  warning:      {w}" for w in report.get("warnings", [])]
    lines += [f"  measured:     {m}" for m in report.get("measured", [])]
    lines += [f"  features:     {report['features']}"] if report.get("features") else []
    lines += [f"  not measured: {m}" for m in report.get("not_measured", [])]
    if figures:
        lines.append(f"  {'':<16} {'generated':>12}   {'real-vs-real':>12}")
    for key, value in figures.items():
        if key.endswith(("_floor", "_real", "_uniform")):
            continue
        if key in FLOORED and f"{key}_floor" in figures:
            beside = f"   {figures[f'{key}_floor']:>12.4g}"
        elif key == "class_entropy" and "class_entropy_uniform" in figures:
            real = figures.get("class_entropy_real")
            beside = f"   {real:>12.4f}" if real is not None else ""
            beside += f"   (uniform log(K) {figures['class_entropy_uniform']:.4f})"
        else:
            beside = ""
        shown_value = f"{int(value):>12d}" if float(value).is_integer() and key != "class_entropy" else f"{value:>12.4g}"
        lines.append(f"  {key:<16} {shown_value}{beside}")
    if not figures:
        lines.append("  (no figures: nothing could be measured for this model and data)")
    lines.append(f"written to {report['written_to']} in {report['eval_time_s']:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gan.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="a run directory (uses checkpoints/last.ckpt) or a .ckpt file")
    parser.add_argument("--samples", type=int, help="generated and real images per figure (default: the run's)")
    parser.add_argument("--feature-extractor", help="classifier file from `python -m gan.features` (default: the cache's)")
    parser.add_argument("--cache-dir", help="classifier and reference features (default: GAN_CACHE_DIR, else the run's)")
    parser.add_argument("--inception-weights", metavar="FILE|download",
                        help="standard Inception FID with these weights (a local file, or download: the torch hub "
                             "cache's, fetched once if missing); needs the inception extra (default: the run's)")
    parser.add_argument("--data-dir", help="where the run's dataset is read from, if not where it was at training")
    parser.add_argument("--output", help="report file (default: <run>/evaluation.json)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    parser.add_argument("--seed", type=int, default=0, help="seed of the evaluation noise and subsets")
    args = parser.parse_args(argv)
    try:
        report = evaluate(
            args.path, args.samples, args.feature_extractor, args.inception_weights, args.data_dir, args.output,
            args.device, args.seed, args.cache_dir,
        )
    except GanError as error:
        raise SystemExit(f"error: {error}") from None
    print(format_report(report))


if __name__ == "__main__":
    main()
