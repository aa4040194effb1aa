"""DCGAN training throughput at 64 px, batch 32: our path vs the Tom & Jerry notebook's plain PyTorch loop, side by side.

    python benchmarks/dcgan_throughput.py                       # 3 alternating repeats of 6 timed steps each
    python benchmarks/dcgan_throughput.py --threads 1 --steps 8    # steadier on a shared, oversubscribed machine

Both train the same networks (the original's DCGAN at 64 px: G 128-512-256-128-64-3, D 3-64-128-256-512-1)
on the same random images, one D then one G update per batch, Adam 2e-4 (0.5, 0.999):

- ours: `gan.run.train(cfg)` with model=dcgan data=image_folder on a temp folder of random PNGs (decoded
  once into the in-memory cache), the default callbacks and TensorBoard logger, i.e. what a user runs;
- seed: the original's `train_discriminator` / `train_generator` as written (sigmoid output + F.binary_cross_entropy,
  a fresh generator pass in each, D's loss back-propagated into G too), over a DataLoader of the same images;
- plain loop with our update: our update order without Lightning, Hydra or callbacks, so the table also
  separates what the framework costs from what the update order saves.

Each step is timed from the end of the step before (so batch fetching counts), the `--warmup` steps are
dropped, and a measurement is batch / median step time: images/s of real data consumed. The table gives
the median over alternating repeats of the two paths.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan.data.image_folder import ImageFolderDataModule  # noqa: E402
from gan.run import train  # noqa: E402
from tests.conftest import compose_config  # noqa: E402

BATCH, SIZE, LATENT = 32, 64, 128


def clocks() -> tuple[float, float]:
    """(wall time, CPU time of this process): the second is what the step cost, whatever else runs."""
    return time.perf_counter(), time.process_time()


def rates(ends: list[tuple[float, float]], warmup: int) -> tuple[float, float]:
    """(images per wall second, images per CPU second) from the end clocks of consecutive steps.

    A step runs from the end of the one before, so fetching its batch counts; the `warmup` first steps
    are dropped. Batch / median step time: a load spike from another process does not decide the figure.
    """
    steps = np.diff(np.array(ends), axis=0)[max(warmup - 1, 0):]  # (steps, 2): wall, CPU
    return BATCH / float(np.median(steps[:, 0])), BATCH / float(np.median(steps[:, 1]))


class StepTimer(pl.Callback):
    """Clocks at the end of every training step (after the callbacks and logging of that step)."""

    def __init__(self) -> None:
        self.ends: list[tuple[float, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self.ends.append(clocks())


TIMER: StepTimer | None = None  # handed to the run through the config's callbacks (see `ours`)


def timer() -> StepTimer:
    return TIMER


def ours(folder: Path, out: Path, warmup: int, steps: int) -> tuple[float, float]:
    global TIMER
    TIMER = StepTimer()
    overrides = ["model=dcgan", "data=image_folder", f"data.root={folder}", f"data.image_size={SIZE}",
                 f"data.batch_size={BATCH}", f"trainer.max_steps={warmup + steps}", "trainer.max_epochs=1",
                 "+callbacks.step_timer._target_=__main__.timer", "seed=0"]
    train(compose_config(overrides, out))
    return rates(TIMER.ends, warmup)


def seed_networks() -> tuple[nn.Module, nn.Module]:
    """The Tom & Jerry notebook's Sequential networks at 64 px, with the sigmoid output its BCE needs."""
    generator = nn.Sequential(
        nn.ConvTranspose2d(LATENT, 512, kernel_size=4, stride=1, padding=0, bias=False), nn.BatchNorm2d(512), nn.ReLU(True),
        nn.ConvTranspose2d(512, 256, kernel_size=4, stride=2, padding=1, bias=False), nn.BatchNorm2d(256), nn.ReLU(True),
        nn.ConvTranspose2d(256, 128, kernel_size=4, stride=2, padding=1, bias=False), nn.BatchNorm2d(128), nn.ReLU(True),
        nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
        nn.ConvTranspose2d(64, 3, kernel_size=4, stride=2, padding=1, bias=False), nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=4, stride=2, padding=1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(64, 128, kernel_size=4, stride=2, padding=1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(128, 256, kernel_size=4, stride=2, padding=1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(256, 512, kernel_size=4, stride=2, padding=1, bias=False), nn.BatchNorm2d(512), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(512, 1, kernel_size=4, stride=1, padding=0, bias=False), nn.Flatten(), nn.Sigmoid(),
    )
    return generator, discriminator


def seed_loop(images: torch.Tensor, warmup: int, steps: int) -> tuple[float, float]:
    torch.manual_seed(0)
    generator, discriminator = seed_networks()
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batch_size, latent_size = BATCH, LATENT

    def train_discriminator(real_images, opt_d):  # the original's function; targets (B, 1) match D's output
        opt_d.zero_grad()
        real_preds = discriminator(real_images)
        real_targets = torch.ones(real_images.size(0), 1)
        real_loss = F.binary_cross_entropy(real_preds, real_targets)
        real_score = torch.mean(real_preds).item()
        latent = torch.randn(batch_size, latent_size, 1, 1)
        fake_images = generator(latent)
        fake_targets = torch.zeros(fake_images.size(0), 1)
        fake_preds = discriminator(fake_images)
        fake_loss = F.binary_cross_entropy(fake_preds, fake_targets)
        fake_score = torch.mean(fake_preds).item()
        loss = real_loss + fake_loss
        loss.backward()
        opt_d.step()
        return loss.item(), real_score, fake_score

    def train_generator(opt_g):
        opt_g.zero_grad()
        latent = torch.randn(batch_size, latent_size, 1, 1)
        fake_images = generator(latent)
        preds = discriminator(fake_images)
        targets = torch.ones(batch_size, 1)
        loss = F.binary_cross_entropy(preds, targets)
        loss.backward()
        opt_g.step()
        return loss.item()

    train_dl = DataLoader(TensorDataset(images, torch.zeros(len(images))), batch_size, shuffle=True, drop_last=True)
    ends = []
    for real_images, _ in train_dl:  # the original's epoch loop body, one epoch of warmup + steps batches
        loss_d, real_score, fake_score = train_discriminator(real_images, opt_d)
        loss_g = train_generator(opt_g)
        ends.append(clocks())
    assert len(ends) == warmup + steps
    return rates(ends, warmup)


def plain_same_update(images: torch.Tensor, warmup: int, steps: int) -> tuple[float, float]:
    """Our update written as a plain loop: fakes made once (detached for D, reused for G), logits + BCE,
    D frozen during G's update. Against `ours`, it shows what Lightning, Hydra and the callbacks cost."""
    torch.manual_seed(0)
    generator, discriminator = seed_networks()
    discriminator = nn.Sequential(*list(discriminator)[:-1])  # logits: no sigmoid
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ends = []
    for real, _ in DataLoader(TensorDataset(images, torch.zeros(len(images))), BATCH, shuffle=True, drop_last=True):
        fake = generator(torch.randn(len(real), LATENT, 1, 1))
        opt_d.zero_grad(set_to_none=True)
        d_loss = F.softplus(-discriminator(real)).mean() + F.softplus(discriminator(fake.detach())).mean()
        d_loss.backward()
        opt_d.step()
        discriminator.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        F.softplus(-discriminator(fake)).mean().backward()
        opt_g.step()
        discriminator.requires_grad_(True)
        ends.append(clocks())
    return rates(ends, warmup)


def write_random_pngs(folder: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)).save(folder / f"{i:05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6, help="timed training steps per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (at least 1)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating measurements of each")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, one per core)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        write_random_pngs(folder, BATCH * (args.warmup + args.steps))
        data = ImageFolderDataModule(folder, image_size=SIZE, batch_size=BATCH)
        data.setup()
        images = data.dataset[list(range(len(data.dataset)))]  # the very tensors our path trains on, in [-1, 1]
        paths = {"the Tom & Jerry notebook loop (plain PyTorch, as written)": lambda r: seed_loop(images, args.warmup, args.steps),
                 "plain loop, our update (no framework)": lambda r: plain_same_update(images, args.warmup, args.steps),
                 "ours: gan.run train(cfg), model=dcgan": lambda r: ours(folder, Path(tmp) / f"run{r}", args.warmup,
                                                                         args.steps)}
        results = {name: [] for name in paths}
        for r in range(args.repeats):  # alternating, so a change in machine load touches all paths alike
            for name, measure in paths.items():
                results[name].append(measure(r))
            print(f"repeat {r + 1}: images/s " + ", ".join(f"{v[-1][0]:.2f}" for v in results.values()), flush=True)
    medians = {name: [statistics.median(x) for x in zip(*values)] for name, values in results.items()}  # wall, CPU
    seed, mine = medians[next(iter(paths))], medians[list(paths)[-1]]
    print(f"\nDCGAN {SIZE} px, batch {BATCH}: median step of {args.steps} after {args.warmup} warm-up, median of "
          f"{args.repeats} alternating repeats; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| path | images/s (wall) | images per CPU-second |\n|---|---|---|")
    for name, (wall, cpu) in medians.items():
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    print(f"| ratio ours / the notebook's loop | {mine[0] / seed[0]:.3f} | {mine[1] / seed[1]:.3f} |")
    plain = medians[list(paths)[1]]
    print(f"| ratio ours / plain loop with our update | {mine[0] / plain[0]:.3f} | {mine[1] / plain[1]:.3f} |")


if __name__ == "__main__":
    main()
