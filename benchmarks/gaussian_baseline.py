"""The original's Gaussian GAN ("GANs in 50 lines", seeds 000, 001, 003) written plainly in PyTorch.

This is the yardstick for our default recipe: no Lightning, no Hydra, the original's own choices.
Real data N(4, 1.25) as (1, 500) numpy draws, uniform noise (500, 1), G 1 -> 5 -> 5 -> 1 with tanh,
D on the "only 4 moments" preprocess 4 -> 10 -> 10 -> 1 with sigmoid activations and a sigmoid output
judged by nn.BCELoss, SGD(lr 1e-3, momentum 0.9) for both, 20 D steps then 20 G steps per epoch.

    python -m benchmarks.gaussian_baseline --seed 0 --epochs 5000   # prints the original's status line
"""

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

MEAN, STD, SET_SIZE = 4.0, 1.25, 500

# check(epoch, sample) -> True to stop; `sample(n)` draws n fresh generated numbers as a (n,) tensor.
Check = Callable[[int, Callable[[int], torch.Tensor]], bool]


def get_moments(d: torch.Tensor) -> torch.Tensor:
    """(1, 500) -> (4,): mean, std, skew, excess kurtosis of the whole set, as the original's `get_moments`."""
    mean = torch.mean(d)
    diffs = d - mean
    std = torch.pow(torch.mean(torch.pow(diffs, 2.0)), 0.5)
    zscores = diffs / std
    skews = torch.mean(torch.pow(zscores, 3.0))
    kurtoses = torch.mean(torch.pow(zscores, 4.0)) - 3.0
    return torch.cat((mean.reshape(1), std.reshape(1), skews.reshape(1), kurtoses.reshape(1)))


class Generator(nn.Module):
    def __init__(self, input_size: int = 1, hidden_size: int = 5, output_size: int = 1) -> None:
        super().__init__()
        self.map1 = nn.Linear(input_size, hidden_size)
        self.map2 = nn.Linear(hidden_size, hidden_size)
        self.map3 = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (500, 1) -> (500, 1)
        return self.map3(torch.tanh(self.map2(torch.tanh(self.map1(x)))))


class Discriminator(nn.Module):
    def __init__(self, input_size: int = 4, hidden_size: int = 10, output_size: int = 1) -> None:
        super().__init__()
        self.map1 = nn.Linear(input_size, hidden_size)
        self.map2 = nn.Linear(hidden_size, hidden_size)
        self.map3 = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (4,) -> (1,), a probability
        x = torch.sigmoid(self.map1(x))
        x = torch.sigmoid(self.map2(x))
        return torch.sigmoid(self.map3(x))


def train_baseline(
    seed: int,
    max_epochs: int = 5000,
    max_seconds: float | None = None,
    check: Check | None = None,
    check_every: int = 100,
    print_every: int | None = None,
) -> dict:
    """Run the original's program; call `check` after every `check_every` epochs, stop when it returns True.

    Returns {"epochs": epochs run, "seconds": wall time of training and checks, "stopped": check said stop}.
    """
    torch.manual_seed(seed)
    np.random.seed(seed)
    d_sampler = lambda n: torch.Tensor(np.random.normal(MEAN, STD, (1, n)))  # noqa: E731, the original's R
    gi_sampler = lambda m, n: torch.rand(m, n)  # noqa: E731, the original's I: uniform, not Gaussian
    G, D = Generator(), Discriminator()
    criterion = nn.BCELoss()
    d_optimizer = torch.optim.SGD(D.parameters(), lr=1e-3, momentum=0.9)
    g_optimizer = torch.optim.SGD(G.parameters(), lr=1e-3, momentum=0.9)
    ones, zeros = torch.ones(1), torch.zeros(1)

    def sample(n: int) -> torch.Tensor:
        with torch.no_grad():
            return G(gi_sampler(n, 1)).flatten()

    start = time.perf_counter()
    epoch, stopped = 0, False
    while epoch < max_epochs and not stopped:
        for _ in range(20):  # 1. D on real (label 1) and fake (label 0); G is used but not trained
            D.zero_grad()
            d_real_data = d_sampler(SET_SIZE)
            d_real_error = criterion(D(get_moments(d_real_data)), ones)
            d_real_error.backward()
            d_fake_data = G(gi_sampler(SET_SIZE, 1)).detach()
            d_fake_error = criterion(D(get_moments(d_fake_data.t())), zeros)
            d_fake_error.backward()
            d_optimizer.step()
        for _ in range(20):  # 2. G against D's judgement, label 1; D is not stepped
            G.zero_grad()
            g_fake_data = G(gi_sampler(SET_SIZE, 1))
            g_error = criterion(D(get_moments(g_fake_data.t())), ones)
            g_error.backward()
            g_optimizer.step()
        if print_every and epoch % print_every == 0:
            print(
                f"Epoch {epoch}: D ({d_real_error.item():.4f} real_err, {d_fake_error.item():.4f} fake_err) "
                f"G ({g_error.item():.4f} err); Real Dist [{d_real_data.mean():.4f}, {d_real_data.std():.4f}], "
                f"Fake Dist [{d_fake_data.mean():.4f}, {d_fake_data.std():.4f}]",
                flush=True,
            )
        epoch += 1
        if check is not None and epoch % check_every == 0:
            stopped = bool(check(epoch, sample))
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
    return {"epochs": epoch, "seconds": time.perf_counter() - start, "stopped": stopped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5000)
    parser.add_argument("--print-every", type=int, default=100, help="the original's print_interval")
    args = parser.parse_args()

    def report(epoch: int, sample) -> bool:
        x = sample(10_000)
        print(f"  after {epoch} epochs, 10,000 fresh samples: mean {x.mean():.4f}, std {x.std(unbiased=False):.4f}")
        return False

    result = train_baseline(args.seed, args.epochs, check=report, check_every=500, print_every=args.print_every)
    print(f"{result['epochs']} epochs in {result['seconds']:.1f} s")


if __name__ == "__main__":
    main()
