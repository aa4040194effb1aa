"""Images/s of the MNIST notebook's MLP GAN on MNIST, trained the same number of steps four ways, side by side.

    python benchmarks/mnist_throughput.py                 # 200 timed steps (+20 warm-up) each way, 3 rounds
    python benchmarks/mnist_throughput.py --steps 100 --rounds 1 --threads 1 --data-dir ../shared/data

(a)  the original's loop and its DataLoader (ToTensor + Normalize per item, shuffle, batch 100), sigmoid + BCELoss;
(b)  the same loop, batches indexed from a tensor decoded once (`gan.data.mnist.load_split`);
(b') a plain loop doing the shared step's arithmetic as it was before docs/speed.md (logits, one fake batch for D
     and G, D on real then on fake, torch's default per-tensor Adam), tensor-fed;
(b'') the same plain loop doing the shared step's arithmetic now: D scores [real; fake] in one pass, fused Adam,
     dropout masks drawn as uniform >= p (`dropout_masks=uniform`), so (c) / (b'') is what Lightning, Hydra and
     our callbacks cost;
(c)  our path: `gan.run.train(cfg)` with `model=vanilla data=mnist trainer.max_steps=...` (TensorBoard logger,
     checkpoints, sample grids and progress bar on, as a user runs it; no FID classifier, so no evaluation);
bound: only the matrix products of one (c) step, on the networks' own shapes (D forward on 2B rows and its weight
     and input gradients, G forward/backward, D forward and input gradients on B fakes), timed back to back in
     the same kind of process with the same threads: this machine's sgemm time for the step. (c) / bound is the
     share of the hardware limit the whole training step reaches.
(c0) (c) with no callbacks, no progress bar and no logger: Lightning's loop and our LightningModule alone, so
     (c0) / (b'') is what the loop costs and (c) / (c0) what the callbacks, TensorBoard and the bar add;
(cc) (c) with `model.compile=true`: G and D compiled by torch.compile (the compilation falls in the warm-up);
(a0), (b0) the batches of (a) and (b) fetched alone, no training: what the data path costs per batch. With
     a free data path (a) would save at most that share of its step, which bounds (b) / (a) and, up to the
     one G forward (b') saves, (c) / (a).
Each way runs in its own process; the ways run interleaved over rounds, so a busy spell on a shared machine
hits every way alike. A step is timed from the end of the step before (batch fetching counts) and the warm-up
steps are dropped. images/s = batch / median step time (robust to other jobs' spikes); "total" divides all
timed images by all timed seconds; per CPU-s divides by this process's own CPU time (all threads). Start-up
and data decoding are outside the timed steps (the wall column is the whole process). Peak memory is the
process's peak resident set size (`getrusage(RUSAGE_SELF).ru_maxrss`): Python, torch and the data together.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BATCH = 100
WAYS = {
    "a": "(a) the notebook's loop, per-item ToTensor DataLoader",
    "b": "(b) the notebook's loop, pre-decoded tensor",
    "b'": "(b') shared-step arithmetic before, plain loop, tensor",
    "b''": "(b'') shared-step arithmetic now (one D pass, fused Adam), plain loop",
    "c": "(c) gan.run train(cfg), model=vanilla data=mnist",
    "c0": "(c0) (c) with no callbacks, progress bar or logger",
    "cc": "(c) with model.compile=true (torch.compile of G and D)",
    "bound": "bound: the step's matrix products alone (sgemm)",
    "a0": "(a0) seed DataLoader alone, no training",
    "b0": "(b0) tensor batches alone, no training",
}
TICKS: list[tuple[float, float]] = []  # (wall, CPU) seconds at the end of each step


def tick() -> None:
    TICKS.append((time.perf_counter(), time.process_time()))


class SeedDiscriminator(nn.Module):  # the MNIST notebook's DiscriminatorNet, sigmoid output included
    def __init__(self, logits: bool = False) -> None:
        super().__init__()
        widths, layers = [784, 1024, 512, 256], []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(0.2), nn.Dropout(0.3)]
        layers += [nn.Linear(256, 1)] + ([] if logits else [nn.Sigmoid()])
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def seed_generator() -> nn.Module:  # the MNIST notebook's GeneratorNet
    return nn.Sequential(
        nn.Linear(100, 256), nn.LeakyReLU(0.2), nn.Linear(256, 512), nn.LeakyReLU(0.2),
        nn.Linear(512, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 784), nn.Tanh(),
    )


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


def seed_loop(batches, total_steps: int) -> None:
    """The MNIST notebook's training loop (train_discriminator, then train_generator on fresh fakes)."""
    discriminator, generator = SeedDiscriminator(), seed_generator()
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=0.0002)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=0.0002)
    loss = nn.BCELoss()
    tick()
    for _ in range(total_steps):
        real_batch = next(batches)
        n = real_batch.size(0)
        real_data = real_batch.view(n, 784)
        fake_data = generator(torch.randn(n, 100)).detach()
        d_optimizer.zero_grad()
        loss(discriminator(real_data), torch.ones(n, 1)).backward()
        loss(discriminator(fake_data), torch.zeros(n, 1)).backward()
        d_optimizer.step()
        fake_data = generator(torch.randn(n, 100))
        g_optimizer.zero_grad()
        loss(discriminator(fake_data), torch.ones(n, 1)).backward()
        g_optimizer.step()
        tick()


def shared_arithmetic_loop(batches, total_steps: int, one_pass: bool = False) -> None:
    """What `GAN.training_step` computes, without Lightning: one fake batch, logits, summed D loss. `one_pass`: the
    arithmetic now (docs/speed.md), D on [real; fake] in one forward and fused Adam; else two D passes and torch's
    per-tensor Adam, as before."""
    from gan.losses import d_loss_bce, g_loss_nonsaturating

    from gan.networks.mlp import UniformDropout

    discriminator, generator = SeedDiscriminator(logits=True), seed_generator()
    if one_pass:  # the masks `model=vanilla` draws now: torch's distribution, drawn as uniform >= p
        discriminator.net = nn.Sequential(*(UniformDropout(m.p) if isinstance(m, nn.Dropout) else m
                                            for m in discriminator.net))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=0.0002, fused=one_pass or None)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=0.0002, fused=one_pass or None)
    tick()
    for _ in range(total_steps):
        real = next(batches).flatten(1)
        fake = generator(torch.randn(len(real), 100))
        if one_pass:
            real_logits, fake_logits = discriminator(torch.cat([real, fake.detach()])).chunk(2)
        else:
            real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
        d_loss = d_loss_bce(real_logits, fake_logits)
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        discriminator.requires_grad_(False)  # what toggling the optimizer does
        g_loss = g_loss_nonsaturating(discriminator(fake))
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()
        discriminator.requires_grad_(True)
        tick()


def one_pass_loop(batches, total_steps: int) -> None:
    shared_arithmetic_loop(batches, total_steps, one_pass=True)


def step_products(batch: int = BATCH) -> list[tuple[int, int, int]]:
    """(M, K, N) of every matrix product in one training step of (c), from the networks' own layer shapes.

    D update: D forward on 2B rows, its weight gradients, its input gradients above the first layer (the data
    needs none); G forward on B. G update: D forward on the B fakes, D's input gradients only (D is frozen),
    G's weight gradients and input gradients above its first layer.
    """
    d_layers = [(m.in_features, m.out_features) for m in SeedDiscriminator().modules() if isinstance(m, nn.Linear)]
    g_layers = [(m.in_features, m.out_features) for m in seed_generator().modules() if isinstance(m, nn.Linear)]
    b2, products = 2 * batch, []
    products += [(b2, k, n) for k, n in d_layers]  # D forward, [real; fake]
    products += [(k, b2, n) for k, n in d_layers]  # D weight gradients: x^T dy
    products += [(b2, n, k) for k, n in d_layers[1:]]  # D input gradients: dy W^T, none for the data
    products += [(batch, k, n) for k, n in g_layers]  # G forward
    products += [(batch, k, n) for k, n in d_layers]  # D forward on the fakes (G update)
    products += [(batch, n, k) for k, n in d_layers]  # D input gradients down to the fakes
    products += [(k, batch, n) for k, n in g_layers]  # G weight gradients
    products += [(batch, n, k) for k, n in g_layers[1:]]  # G input gradients, none for the noise
    return products


def step_flops(batch: int = BATCH) -> int:
    return sum(2 * m * k * n for m, k, n in step_products(batch))


def products_only(batches, total_steps: int) -> None:
    """The step's matrix products alone, back to back on preallocated operands: the sgemm floor of one step."""
    operands = [(torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)) for m, k, n in step_products()]
    tick()
    for _ in range(total_steps):
        for a, b, out in operands:
            torch.mm(a, b, out=out)
        tick()


# torch ops by what they are for, to say where a step's time goes beyond the matrix products (--why).
OP_KINDS = {
    "matrix products (mm, addmm)": ("aten::mm", "aten::addmm", "aten::bmm"),
    "dropout masks (uniform_ >= p) and their products": ("aten::bernoulli_", "aten::uniform_", "aten::ge_",
                                                          "aten::mul", "aten::mul_", "aten::div_"),
    "Adam (fused kernel, step's Python)": ("aten::_fused_adam_", "Optimizer.step#Adam.step", "Optimizer.zero_grad#Adam.zero_grad"),
    "activations and their gradients": ("aten::leaky_relu", "aten::leaky_relu_backward", "aten::tanh", "aten::tanh_backward"),
}


def why(data_dir: str, steps: int, threads: int) -> None:
    """Where (b'')'s step time goes, by op kind (torch.profiler, self CPU time): what keeps it from the bound."""
    from torch.profiler import ProfilerActivity, profile

    if threads:
        torch.set_num_threads(threads)
    batches = tensor_batches(data_dir)
    one_pass_loop(batches, 10)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        one_pass_loop(batches, steps)
    self_us = {e.key: e.self_cpu_time_total for e in prof.key_averages()}
    total = sum(self_us.values())
    TICKS.clear()
    products_only(None, 10 + steps)  # the bound's step, in this process, right after
    bound_ms = (TICKS[-1][0] - TICKS[10][0]) / steps * 1e3
    print(f"\n(b'')'s {steps} steps under torch.profiler, self CPU time by kind ({threads or torch.get_num_threads()} "
          f"threads), in ms per step and as a multiple of the bound's step ({bound_ms:.2f} ms, timed after it):")
    rest, ms = total, {}
    for kind, names in OP_KINDS.items():
        share = sum(self_us.get(name, 0) for name in names)
        rest -= share
        ms[kind] = share / steps / 1e3
        print(f"  {kind:<50} {share / total:6.1%} {ms[kind]:6.2f} ms {ms[kind] / bound_ms:5.2f} x bound")
    print(f"  {'everything else (autograd, copies, losses, Python)':<50} {rest / total:6.1%} "
          f"{rest / steps / 1e3:6.2f} ms {rest / steps / 1e3 / bound_ms:5.2f} x bound")
    floor = ms["matrix products (mm, addmm)"] + ms["Adam (fused kernel, step's Python)"]
    print(f"The step's own matrix products and Adam alone take {floor:.2f} ms: with every other op free, the step "
          f"would reach at most {bound_ms / floor:.0%} of the bound (profiled; the profiler adds its own overhead).")


def fetch_only(batches, total_steps: int) -> None:
    tick()
    for _ in range(total_steps):
        next(batches)
        tick()


def StepTimer():  # noqa: N802 - `_target_` of a callback added to (c)'s configured ones
    import pytorch_lightning as pl

    class _StepTimer(pl.Callback):
        def on_train_start(self, trainer, pl_module):
            tick()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            tick()

    return _StepTimer()


def gan_run(data_dir: str, total_steps: int, *extra: str, bare: bool = False) -> None:
    from omegaconf import open_dict

    from gan.run import train
    from tests.conftest import compose_config  # the config `python -m gan.run <overrides>` builds

    with tempfile.TemporaryDirectory() as out:
        # No end-of-run FID here (benchmarks/ has its own for quality): this measures training alone.
        overrides = ["model=vanilla", "data=mnist", f"trainer.max_steps={total_steps}", "eval.feature_extractor=null",
                     *extra]
        cfg = compose_config(overrides, Path(out), Path(data_dir))
        with open_dict(cfg):
            cfg.trainer.enable_progress_bar = not bare  # compose_config turns it off for tests; users have it
            if bare:  # (c0): the loop alone
                cfg.callbacks, cfg.logger = {}, {}
            cfg.callbacks.step_timer = {"_target_": "__main__.StepTimer"}
        train(cfg)


def run_one(way: str, data_dir: str, steps: int, warmup: int, threads: int) -> dict:
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    if way in ("c", "c0", "cc"):
        gan_run(data_dir, warmup + steps, *(["model.compile=true"] if way == "cc" else []), bare=way == "c0")
    else:
        batches = None if way == "bound" else seed_batches(data_dir) if way.startswith("a") else tensor_batches(data_dir)
        loop = {"b'": shared_arithmetic_loop, "b''": one_pass_loop, "bound": products_only, "a0": fetch_only,
                "b0": fetch_only}.get(way, seed_loop)
        loop(batches, warmup + steps)
    timed = TICKS[warmup:]
    assert len(timed) == steps + 1, f"{len(TICKS)} ticks for {warmup}+{steps} steps"
    step_s = [b[0] - a[0] for a, b in zip(timed, timed[1:])]
    wall, cpu = timed[-1][0] - timed[0][0], timed[-1][1] - timed[0][1]
    return {
        "images_per_s": BATCH / statistics.median(step_s),
        "images_per_s_total": steps * BATCH / wall,
        "images_per_cpu_s": steps * BATCH / cpu,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux reports KiB
    }


def run_way(way: str, args) -> dict:
    start = time.perf_counter()
    command = [sys.executable, __file__, "--way", way, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--data-dir", args.data_dir, "--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"way {way} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(lines[-1][7:]), "wall_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="timed training steps per way and round")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median round is reported")
    parser.add_argument("--data-dir", default=os.environ.get("GAN_DATA_DIR", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--ways", default="a,b,b',b'',c,bound,a0,b0")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per way (0: torch's default)")
    parser.add_argument("--why", type=int, default=0, metavar="STEPS",
                        help="after the table: profile STEPS steps of (b'') and say where its time goes")
    parser.add_argument("--way", help=argparse.SUPPRESS)  # internal: run one way in this process
    args = parser.parse_args()
    if args.way:
        print("RESULT " + json.dumps(run_one(args.way, args.data_dir, args.steps, args.warmup, args.threads)))
        return

    ways = args.ways.split(",")
    print(f"torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
          f"{args.steps} timed steps of {BATCH} after {args.warmup} warm-up, {args.rounds} rounds")
    runs: dict[str, list[dict]] = {way: [] for way in ways}
    for round_ in range(args.rounds):
        for way in ways:
            r = run_way(way, args)
            runs[way].append(r)
            print(f"  round {round_ + 1} {way:<3} {r['images_per_s']:6.0f} images/s, {r['images_per_s_total']:6.0f} "
                  f"total, {r['images_per_cpu_s']:6.0f} per CPU-s (load average {os.getloadavg()[0]:.2f})", flush=True)
    med = {way: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for way, rs in runs.items()}
    print("\n| way | images/s | images/s, total | images per CPU-s | peak RSS MiB | process wall s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for way in ways:
        m = med[way]
        print(f"| {WAYS[way]} | {m['images_per_s']:.0f} | {m['images_per_s_total']:.0f} | {m['images_per_cpu_s']:.0f} "
              f"| {m['peak_rss_mib']:.0f} | {m['wall_s']:.1f} |")
    print(f"(medians over {args.rounds} rounds)")
    if "bound" in med:
        bound = med["bound"]["images_per_s"]
        print(f"bound: {step_flops() / BATCH / 1e6:.1f} MFLOP per image per step in {len(step_products())} matrix "
              f"products; sgemm at {step_flops() * bound / BATCH / 1e9:.0f} GFLOP/s on them: {bound:.0f} images/s")
        bound_cpu = med["bound"]["images_per_cpu_s"]  # on a shared machine the steadier comparison
        for way in ("b'", "b''", "c", "c0", "cc"):
            if way in med:
                print(f"({way}) = {med[way]['images_per_s'] / bound:.1%} of the bound "
                      f"(per CPU-s: {med[way]['images_per_cpu_s'] / bound_cpu:.1%})")
    pairs = (("c", "b"), ("c", "b'"), ("c", "b''"), ("c0", "b''"), ("c", "c0"), ("cc", "c"), ("c", "a"), ("b", "a"))
    for x, y in pairs:
        if x in med and y in med:
            ratio = {k: med[x][k] / med[y][k] for k in ("images_per_s", "images_per_s_total", "images_per_cpu_s")}
            print(f"({x}) / ({y}) = {ratio['images_per_s']:.2f} (total {ratio['images_per_s_total']:.2f}, "
                  f"per CPU-s {ratio['images_per_cpu_s']:.2f})")
    if args.why:
        why(args.data_dir, args.why, args.threads)
    if "a" in med and "a0" in med:
        share = med["a"]["images_per_s"] / med["a0"]["images_per_s"]  # (a0)'s time per batch / (a)'s
        print(f"the original's data path is {share:.1%} of (a)'s step: with data for free (a) would run at most "
              f"{1 / (1 - share):.2f}x as fast")


if __name__ == "__main__":
    main()
