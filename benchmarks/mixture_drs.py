"""Discriminator rejection sampling on trained 2-D mixture runs: which critic and which log M keep what.

For each run folder (from `python -m gan.run model=mixture ...` or `benchmarks.mixture_modes --out`), prints G's
raw figures, then fits a fresh point critic per spec (as `model.sampling=drs` does after G's last step) and
prints PacGAN's figures of the kept points (2,500, evaluation seed 0) for several settings of log M = the
`quantile` of the critic's logits on G's draws less `margin` (1 and 0: exact DRS), with the share kept.

    python -m benchmarks.mixture_drs runs/grid-default-200                     # the default critic
    python -m benchmarks.mixture_drs runs/grid-default-200 --critics 1000:3e-3:128:0.05,1000:3e-3:0:0

A critic spec is steps:lr:fourier:fourier_scale (fourier 0: a plain MLP on points / radius); batch 500 and
hidden sizes 128 x 128 as the default.
"""

import argparse
import time

import torch

from gan.checkpoint import load_model
from gan.data.mixture import sample_mixture
from gan.metrics.mixture import mixture_report
from gan.models.rejection import RejectionSampler
from gan.networks.points import PointDiscriminator

CEILINGS = ((0.5, 4.0), (0.5, 2.0), (0.5, 1.0), (0.5, 0.0), (1.0, 0.0))  # (quantile, margin); default (0.5, 2)


def figures(report: dict, kept: float) -> str:
    return f"{report['modes']:.0f}, {100 * report['high_quality']:.1f} %, {report['reverse_kl']:.4f}, {100 * kept:.0f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--critics", default="1000:3e-3:128:0.05")
    parser.add_argument("--ceilings", default=",".join(f"{q}:{m}" for q, m in CEILINGS),
                        help="quantile:margin pairs, comma-separated (default: %(default)s)")
    args = parser.parse_args()
    ceilings = [tuple(map(float, pair.split(":"))) for pair in args.ceilings.split(",")]
    torch.set_num_threads(1)
    print("| run | critic | CPU s | " + " | ".join(f"q {q}, margin {m}" for q, m in ceilings) + " |")
    print("|---" * (3 + len(ceilings)) + "|")
    print("(each cell: modes, high quality, reverse KL, share of G's draws kept)")
    for run in args.runs:
        model, _ = load_model(run)
        hp = model.hparams
        print(f"| {run} | raw G | | {figures(mixture_report(model.draw(2500, 0, raw=True), model.centres, hp.sigma), 1)} |")
        for spec in args.critics.split(","):
            steps, lr, fourier, scale = spec.split(":")
            torch.manual_seed(0)
            critic = (PointDiscriminator(2, [128, 128], 1, input_scale=hp.sigma, fourier=int(fourier),
                                         fourier_scale=float(scale)) if int(fourier)
                      else PointDiscriminator(2, [128, 128], 1, input_scale=hp.radius))
            sampler = RejectionSampler(critic)
            cpu = time.process_time()
            sampler.fit(lambda n: sample_mixture(model.centres, hp.sigma, n), lambda n: model.draw(n, raw=True),
                        int(steps), 500, float(lr))
            cpu = time.process_time() - cpu
            with torch.no_grad():
                logits = critic(model.draw(10_000, seed=1, raw=True))  # (10000,) the burn-in draws
            cells = []
            for quantile, margin in ceilings:
                sampler.ceiling.copy_((logits.max() if quantile >= 1 else torch.quantile(logits, quantile)) - margin)
                model.rejection = sampler
                points, kept = model._draw(2500, 0, raw=False)
                cells.append(figures(mixture_report(points, model.centres, hp.sigma), kept))
            print(f"| {run} | {spec} | {cpu:.1f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
