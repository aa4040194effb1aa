"""Images/s of seed 004's MLP GAN on MNIST, trained the same number of steps four ways, side by side.

    python benchmarks/mnist_throughput.py                 # 200 timed steps (+20 warm-up) each way, 3 rounds
    python benchmarks/mnist_throughput.py --steps 100 --rounds 1 --data-dir ../shared/data

(a)  the seed's loop and its DataLoader (ToTensor + Normalize per item, shuffle, batch 100), sigmoid + BCELoss;
(b)  the same loop, batches indexed from a tensor decoded once (`gan.data.mnist.load_split`);
(b') a plain loop doing exactly the shared step's arithmetic (logits, one fake batch for D and G), tensor-fed;
(c)  our path: `gan.run.train(cfg)` with `model=vanilla data=mnist trainer.max_steps=...` (TensorBoard logger,
     checkpoints, sample grids and progress bar on, as a user runs it).
Each way runs in its own process, the ways interleaved over rounds with the best kept (robust to other work on
a shared machine); images/s counts the timed steps only (warm-up, start-up and data decoding
excluded; start-up shows in the wall column, the whole process). Images per CPU-second divides by the process's
own CPU time (all threads), a figure that other jobs on a shared machine disturb much less. Peak memory is the process's peak resident set size
(`getrusage(RUSAGE_SELF).ru_maxrss`), which includes Python, torch and the decoded data.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
BATCH = 100
WAYS = {
    "a": "(a) seed loop, per-item ToTensor DataLoader",
    "b": "(b) seed loop, pre-decoded tensor",
    "b'": "(b') shared-step arithmetic, plain loop, tensor",
    "c": "(c) gan.run train(cfg), model=vanilla data=mnist",
}


class SeedDiscriminator(nn.Module):  # seed 004's DiscriminatorNet, sigmoid output included
    def __init__(self, logits: bool = False) -> None:
        super().__init__()
        widths, layers = [784, 1024, 512, 256], []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(0.2), nn.Dropout(0.3)]
        layers += [nn.Linear(256, 1)] + ([] if logits else [nn.Sigmoid()])
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def seed_generator() -> nn.Module:  # seed 004's GeneratorNet
    return nn.Sequential(
        nn.Linear(100, 256), nn.LeakyReLU(0.2), nn.Linear(256, 512), nn.LeakyReLU(0.2),
        nn.Linear(512, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 784), nn.Tanh(),
    )


def _clocks() -> tuple[float, float]:
    """(wall, CPU) seconds; CPU time is this process's, all threads, so other jobs on the machine do not count."""
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clocks()
    return wall - start[0], cpu - start[1]


def seed_batches(data_dir: str):
    from torchvision import datasets, transforms

    compose = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    data = datasets.MNIST(root=data_dir, train=True, transform=compose, download=False)
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True)
    while True:
        yield from (images for images, _ in loader)


def tensor_batches(data_dir: str):
    from gan.data.mnist import load_split

    images, _ = load_split(data_dir, "mnist", train=True)
    while True:
        for idx in torch.randperm(len(images)).split(BATCH):
            yield images[idx]


def seed_loop(batches, steps: int, warmup: int) -> float:
    """Seed 004's training loop; returns seconds for the steps after the warm-up."""
    discriminator, generator = SeedDiscriminator(), seed_generator()
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=0.0002)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=0.0002)
    loss = nn.BCELoss()
    for step in range(warmup + steps):
        if step == warmup:
            start = _clocks()
        real_batch = next(batches)
        n = real_batch.size(0)
        real_data = real_batch.view(n, 784)
        fake_data = generator(torch.randn(n, 100)).detach()
        d_optimizer.zero_grad()
        prediction_real = discriminator(real_data)
        loss(prediction_real, torch.ones(n, 1)).backward()
        prediction_fake = discriminator(fake_data)
        loss(prediction_fake, torch.zeros(n, 1)).backward()
        d_optimizer.step()
        fake_data = generator(torch.randn(n, 100))
        g_optimizer.zero_grad()
        loss(discriminator(fake_data), torch.ones(n, 1)).backward()
        g_optimizer.step()
    return _since(start)


def shared_arithmetic_loop(batches, steps: int, warmup: int) -> float:
    """What `GAN.training_step` computes, without Lightning: one fake batch, logits, summed D loss."""
    from gan.losses import d_loss_bce, g_loss_nonsaturating

    discriminator, generator = SeedDiscriminator(logits=True), seed_generator()
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=0.0002)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=0.0002)
    for step in range(warmup + steps):
        if step == warmup:
            start = _clocks()
        real = next(batches).flatten(1)
        fake = generator(torch.randn(len(real), 100))
        d_loss = d_loss_bce(discriminator(real), discriminator(fake.detach()))
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        for p in discriminator.parameters():  # what toggling the optimizer does
            p.requires_grad_(False)
        g_loss = g_loss_nonsaturating(discriminator(fake))
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()
        for p in discriminator.parameters():
            p.requires_grad_(True)
    return _since(start)


class StepTimer:
    """Added to (c)'s configured callbacks as `__main__.StepTimer`: times the steps after the warm-up."""

    times: dict[str, float] = {}

    def __new__(cls, warmup: int):
        import pytorch_lightning as pl

        class _Timer(pl.Callback):
            def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
                if pl_module.training_steps_done == warmup:
                    cls.times["start"] = _clocks()

            def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
                cls.times["end"] = _clocks()

        return _Timer()


def gan_run(data_dir: str, steps: int, warmup: int) -> float:
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import compose_config  # the config `python -m gan.run <overrides>` builds
    from omegaconf import open_dict

    from gan.run import train

    with tempfile.TemporaryDirectory() as out:
        overrides = ["model=vanilla", "data=mnist", f"trainer.max_steps={warmup + steps}"]
        cfg = compose_config(overrides, Path(out), Path(data_dir))
        with open_dict(cfg):
            cfg.trainer.enable_progress_bar = True  # compose_config turns it off for tests; users have it
            cfg.callbacks.step_timer = {"_target_": "__main__.StepTimer", "warmup": warmup}
        train(cfg)
    (wall0, cpu0), (wall1, cpu1) = StepTimer.times["start"], StepTimer.times["end"]
    return wall1 - wall0, cpu1 - cpu0


def run_one(way: str, data_dir: str, steps: int, warmup: int, threads: int | None) -> dict:
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    if way == "a":
        wall, cpu = seed_loop(seed_batches(data_dir), steps, warmup)
    elif way == "b":
        wall, cpu = seed_loop(tensor_batches(data_dir), steps, warmup)
    elif way == "b'":
        wall, cpu = shared_arithmetic_loop(tensor_batches(data_dir), steps, warmup)
    else:
        wall, cpu = gan_run(data_dir, steps, warmup)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    return {"images_per_s": steps * BATCH / wall, "images_per_cpu_s": steps * BATCH / cpu, "peak_rss_mib": peak_mib}


def run_way(way: str, args) -> dict:
    start = time.perf_counter()
    command = [sys.executable, __file__, "--way", way, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--data-dir", args.data_dir, "--threads", str(args.threads or 0)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"way {way} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(lines[-1][7:]), "wall_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="timed training steps per way and round")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    parser.add_argument("--rounds", type=int, default=3, help="the ways run interleaved this many times; best kept")
    parser.add_argument("--data-dir", default=os.environ.get("GAN_DATA_DIR", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--ways", default="a,b,b',c")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per way (0: torch's default)")
    parser.add_argument("--way", help=argparse.SUPPRESS)  # internal: run one way in this process
    args = parser.parse_args()
    if args.way:
        print("RESULT " + json.dumps(run_one(args.way, args.data_dir, args.steps, args.warmup, args.threads)), flush=True)
        return

    ways = args.ways.split(",")
    print(f"torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
          f"{args.steps} timed steps of {BATCH} after {args.warmup} warm-up, {args.rounds} interleaved rounds")
    runs: dict[str, list[dict]] = {way: [] for way in ways}
    for round_ in range(args.rounds):  # interleaved, so a busy spell on a shared machine hits every way alike
        for way in ways:
            runs[way].append(run_way(way, args))
            r = runs[way][-1]
            print(f"  round {round_ + 1} {way:<3} {r['images_per_s']:7.0f} images/s  "
                  f"{r['images_per_cpu_s']:7.0f} images/CPU-s  (load average {os.getloadavg()[0]:.2f})", flush=True)
    best = {way: max(rs, key=lambda r: r["images_per_s"]) for way, rs in runs.items()}
    cpu_best = {way: max(r["images_per_cpu_s"] for r in rs) for way, rs in runs.items()}
    print(f"\n| way | images/s (best of {args.rounds}) | all rounds | images per CPU-s | peak RSS MiB | wall s |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for way in ways:
        every = ", ".join(f"{r['images_per_s']:.0f}" for r in runs[way])
        b = best[way]
        print(f"| {WAYS[way]} | {b['images_per_s']:.0f} | {every} | {cpu_best[way]:.0f} | {b['peak_rss_mib']:.0f} "
              f"| {b['wall_s']:.1f} |")
    for x, y in (("c", "b"), ("c", "b'"), ("c", "a"), ("b", "a")):
        if x in best and y in best:
            print(f"({x}) / ({y}): {best[x]['images_per_s'] / best[y]['images_per_s']:.2f} in images/s, "
                  f"{cpu_best[x] / cpu_best[y]:.2f} in images per CPU-second")


if __name__ == "__main__":
    main()
