"""Images per CPU second of the 64 px DCGAN candidates for a folder, beside the Tom & Jerry notebook's DCGAN, in one run.

    python benchmarks/folder_throughput.py                    # one thread, batch 32, 6 timed steps, 3 alternating repeats

Each candidate is one training step as our loop makes it (one D update on real and detached fake images, one G
update through D) with the candidate's networks, loss and precision, on random images; the notebook's row uses its
networks (width 64, BatchNorm D, latent 128) and BCE. The figure is batch / median step CPU time, so another process
on the machine changes it little; rows are measured in alternation so a change of load touches all alike.
"""

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan.networks.dcgan import DCGANDiscriminator, DCGANGenerator  # noqa: E402

SIZE = 64
CANDIDATES = {  # name -> (width, latent, D norm, spectral norm, loss, bf16 autocast)
    "the notebook's DCGAN (width 64, BatchNorm D, BCE)": (64, 128, "batch", False, "bce", False),
    "ours: width 32, spectral-norm D, hinge (model=dcgan data=tomjerry)": (32, 64, "none", True, "hinge", False),
    "ours, trainer=cpu_bf16 (bf16 autocast)": (32, 64, "none", True, "hinge", True),
    "ours at width 16": (16, 64, "none", True, "hinge", False),
    "ours at width 64": (64, 64, "none", True, "hinge", False),
}


def d_loss(loss: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if loss == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_loss(loss: str, fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean() if loss == "hinge" else F.softplus(-fake).mean()


def measure(spec: tuple, batch: int, warmup: int, steps: int) -> float:
    width, latent, norm, sn, loss, bf16 = spec
    torch.manual_seed(0)
    g = DCGANGenerator(latent, SIZE, 3, width)
    d = DCGANDiscriminator(SIZE, 3, width, norm=norm, spectral_norm=sn)
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 2e-4), torch.optim.Adam(d.parameters(), 2e-4)
    real = torch.rand(batch, 3, SIZE, SIZE) * 2 - 1
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    times = []
    for i in range(warmup + steps):
        start = time.process_time()
        with autocast():
            fake = g(torch.randn(batch, latent))
            loss_d = d_loss(loss, d(real), d(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        d.requires_grad_(False)
        with autocast():
            loss_g = g_loss(loss, d(fake))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        d.requires_grad_(True)
        if i >= warmup:
            times.append(time.process_time() - start)
    return batch / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {name: [] for name in CANDIDATES}
    for _ in range(args.repeats):
        for name, spec in CANDIDATES.items():
            results[name].append(measure(spec, args.batch, args.warmup, args.steps))
    base = statistics.median(next(iter(results.values())))
    print(f"DCGAN at {SIZE} px, batch {args.batch}, {args.threads} thread(s), torch {torch.__version__}: median of "
          f"{args.repeats} alternating repeats of the median of {args.steps} steps")
    print("| networks | images per CPU-second | × the notebook's |\n| --- | ---: | ---: |")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):.1f} | {statistics.median(values) / base:.2f} |")


if __name__ == "__main__":
    main()
