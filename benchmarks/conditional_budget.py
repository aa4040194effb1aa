"""A conditional GAN or InfoGAN on MNIST with a budget of training CPU seconds, then its figures (docs/conditional.md).

    python benchmarks/conditional_budget.py --out /tmp/cgan --data-dir ../shared/data                  # cgan, 180 s
    python benchmarks/conditional_budget.py --out /tmp/infogan --data-dir ../shared/data model=infogan
    python benchmarks/conditional_budget.py --out /tmp/ig --seconds 60 model=infogan model.info_weight=0 model.g_lr=2e-4

The settings are the slow test's (tests/test_conditional.py): one thread, narrower MLPs, batch 64, Adam betas
(0.5, 0.999), a classifier on 10,000 training images (built first, not counted), figures on 2,000 samples.
Writes under --out, with its own cache (the classifier is built there).
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gan and tests, run from anywhere

import torch  # noqa: E402

from gan.run import train  # noqa: E402
from tests.conftest import compose_config  # noqa: E402
from tests.test_conditional import FAST_CGAN, CPUBudget  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("overrides", nargs="*", help="e.g. model=infogan model.g_lr=1e-3 (default model=cgan)")
    args = parser.parse_args()
    out = Path(args.out)
    os.environ["GAN_CACHE_DIR"] = str(out / "cache")
    torch.set_num_threads(1)
    model = [] if any(o.startswith("model=") for o in args.overrides) else ["model=cgan"]
    cfg = compose_config([*model, "data=mnist", "logger=none", "trainer.max_epochs=100", *FAST_CGAN,
                          "model.feature_build.max_samples=10000", "model.feature_build.epochs=2",
                          "model.eval_samples=2000", "callbacks.sample_quality.every_n_epochs=1000", "model.monitor=null",
                          "+callbacks.cpu_budget._target_=tests.test_conditional.CPUBudget",
                          f"+callbacks.cpu_budget.seconds={args.seconds}", *args.overrides],
                         out / "run", data_dir=Path(args.data_dir).absolute())
    metrics = train(cfg)
    keys = ("class_accuracy", "intra_fid", "code_accuracy", "fid", "class_entropy", "mode_coverage")
    print(CPUBudget.last, {k: metrics[k] for k in keys if k in metrics})


if __name__ == "__main__":
    main()
