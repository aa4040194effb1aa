"""A conditional GAN or InfoGAN on MNIST with a budget of training CPU seconds, then its figures (docs/conditional.md).

    python benchmarks/conditional_budget.py --out /tmp/cgan --data-dir ../shared/data                  # cgan, 180 s
    python benchmarks/conditional_budget.py --out /tmp/infogan --data-dir ../shared/data model=infogan
    python benchmarks/conditional_budget.py --out /tmp/ig --seconds 60 model=infogan model.info_weight=0 model.g_lr=2e-4
    # figures every 150 training CPU seconds and at each epoch's end, over the full-data classifier; then 600 more:
    python benchmarks/conditional_budget.py --out /tmp/ig --seconds 600 --every 150 \
        --classifier ~/.cache/gan/features/mnist-classifier.pt model=infogan
    python benchmarks/conditional_budget.py --out /tmp/ig2 --seconds 600 --every 150 --before 600 \
        --classifier ~/.cache/gan/features/mnist-classifier.pt model=infogan ckpt_path=/tmp/ig/run/checkpoints/last.ckpt

model=cgan runs as configured (conf/model/cgan.yaml); model=vanilla gets cgan's narrower MLPs unless --seed-widths
(which gives cgan the original's widths instead).
All: batch 64, Adam betas (0.5, 0.999), --threads threads (1), figures on --samples samples (2,000) against as many
test images. The classifier is built first (10,000 training images, 2 epochs) and not counted, unless --classifier
names a built one (it is copied into the run's own cache). CPU time is the process's (all threads), training only:
the figures' own CPU time along the way is left out. Writes under --out, rows also to --out/progress.jsonl.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gan and tests, run from anywhere

import torch  # noqa: E402

from gan.callbacks.budget import KEYS, Progress  # noqa: E402
from gan.run import train  # noqa: E402
from tests.conftest import compose_config  # noqa: E402
from tests.e2e.test_conditional import FAST_CGAN  # noqa: E402

SEED_WIDTHS = ["model.generator.hidden_sizes=[256,512,1024]", "model.discriminator.hidden_sizes=[1024,512,256]"]

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--every", type=float, default=None, help="figures every this many training CPU seconds")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--classifier", default=None, help="a built classifier file to judge by (copied)")
    parser.add_argument("--before", type=float, default=0.0,
                        help="with ckpt_path=<an earlier run's last.ckpt>: its training CPU seconds, added to the rows")
    parser.add_argument("--seed-widths", action="store_true", help="MLP models: the original's widths, not cgan's")
    parser.add_argument("overrides", nargs="*", help="e.g. model=infogan model.g_lr=1e-3 (default model=cgan)")
    args = parser.parse_args()
    out = Path(args.out).absolute()
    os.environ["GAN_CACHE_DIR"] = str(out / "cache")
    if args.classifier:
        (out / "cache" / "features").mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(args.classifier).expanduser(), out / "cache" / "features" / "mnist-classifier.pt")
    torch.set_num_threads(args.threads)
    model = next((o for o in args.overrides if o.startswith("model=")), "model=cgan")
    # vanilla gets cgan's narrower MLPs (conf/model/cgan.yaml) unless --seed-widths; cgan gets the original's with it
    widths = (FAST_CGAN[:-3] if model == "model=vanilla" and not args.seed_widths
              else SEED_WIDTHS if model == "model=cgan" and args.seed_widths else [])
    # FAST_CGAN[-3:]: betas (0.5, 0.999) and batch 64, for every model here (later overrides win)
    cfg = compose_config([model, "data=mnist", "logger=none", "trainer.max_epochs=1000", *widths, *FAST_CGAN[-3:],
                          "eval.feature_build.max_samples=10000", "eval.feature_build.epochs=2",
                          f"model.eval_samples={args.samples}", "callbacks.sample_quality.every_n_epochs=100000",
                          "model.monitor=null", "+callbacks.progress._target_=gan.callbacks.budget.Progress",
                          "+callbacks.progress._recursive_=false", "+callbacks.progress.data=${data}",
                          f"+callbacks.progress.cache_dir={out / 'cache'}", f"+callbacks.progress.seconds={args.seconds}",
                          f"+callbacks.progress.every={args.every or 'null'}",
                          f"+callbacks.progress.samples={args.samples}",
                          f"+callbacks.progress.path={out / 'progress.jsonl'}", f"+callbacks.progress.before={args.before}",
                          *[o for o in args.overrides if o != model]],
                         out / "run", data_dir=Path(args.data_dir).absolute())
    metrics = train(cfg)
    last = Progress.last.rows[-1] if Progress.last and Progress.last.rows else {}
    print("end", {"cpu_s": last.get("cpu_s"), "steps": last.get("steps")},
          {k: metrics[k] for k in KEYS if k in metrics}, flush=True)


if __name__ == "__main__":
    main()
