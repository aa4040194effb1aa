"""Which label-free task gives a folder's features that rank damaged copies of the real set below it?

    python benchmarks/folder_features.py /path/to/wesnoth/portraits /path/to/wesnoth/units

For each folder (64 px RGB) and task (gan/eval/folder_features.py: simclr, rotation, random), trains the feature
network as the evaluator would, splits the folder in two halves (a fixed permutation), and prints FID between the
first half (the reference) and: the second half (the real-vs-real floor), the second half blurred, noised and
mode-dropped. A task passes when every damaged copy scores above the floor and a stronger damage above a weaker
one. One thread; CPU seconds of each build are printed beside it.
"""

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gan.eval.folder_features import DEFAULTS, folder_images, train_features
from gan.eval.image import frechet_distance, kernel_distance
from gan.eval.prdc import prdc

ORDERED = [("blur 1", "blur 2"), ("noise 0.1", "noise 0.3"), ("drop half", "drop 2 folders")]


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (N, C, S, S) float images, a separable kernel of radius 3 sigma."""
    radius = int(3 * sigma)
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).to(images.dtype)
    c = images.shape[1]
    out = F.conv2d(F.pad(images, [radius, radius, 0, 0], mode="replicate"), kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1),
                   groups=c)
    return F.conv2d(F.pad(out, [0, 0, radius, radius], mode="replicate"), kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1),
                    groups=c)


def corrupted_copies(other: torch.Tensor, groups: torch.Tensor, seed: int = 0) -> dict[str, torch.Tensor]:
    """The second half (N, C, S, S) in [-1, 1], clean and damaged; `groups` (N,): each image's first sub-folder."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(other.shape, generator=generator)

    def repeated(keep: torch.Tensor) -> torch.Tensor:  # the kept images repeated up to the full size
        index = keep.nonzero().squeeze(1)
        return other[index[torch.arange(len(other)) % len(index)]]

    folders = groups.unique()
    chosen = folders[torch.randperm(len(folders), generator=generator)]
    return {
        "real (floor)": other,
        "blur 1": blur(other, 1.0), "blur 2": blur(other, 2.0),
        "noise 0.1": (other + 0.1 * noise).clamp(-1, 1), "noise 0.3": (other + 0.3 * noise).clamp(-1, 1),
        "drop half": repeated(torch.isin(groups, chosen[: len(folders) // 2])),
        "drop 2 folders": repeated(torch.isin(groups, chosen[:2])),
    }


@torch.no_grad()
def embed(net, images: torch.Tensor) -> torch.Tensor:
    return torch.cat([net(chunk) for chunk in images.split(500)])


def measure(root: Path, task: str, steps: int | None, image_size: int = 64) -> dict:
    data = {"_target_": "gan.data.image_folder.ImageFolderDataModule", "root": str(root), "image_size": image_size,
            "channels": 3, "labels": "folders", "num_classes": len([p for p in root.iterdir() if p.is_dir()])}
    images, groups = folder_images(data)
    settings = {**DEFAULTS, "task": task} | ({"steps": steps} if steps else {})
    cpu = time.process_time()
    net = train_features(images, **settings)
    build_cpu = time.process_time() - cpu
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(1))
    half = len(images) // 2
    real = images.float() / 127.5 - 1
    reference, other = real[order[:half]], real[order[half : 2 * half]]
    ref_features = embed(net, reference)
    row = {"build_cpu_s": build_cpu, "images": len(images)}
    for name, copy in corrupted_copies(other, groups[order[half : 2 * half]]).items():
        feats = embed(net, copy)
        kid = kernel_distance(ref_features, feats, 10, 1000)[0]
        row[name] = {"fid": frechet_distance(ref_features, feats), "kid": kid, **prdc(ref_features, feats, 5)}
    return row


def passes(row: dict, figure: str = "fid") -> bool:
    floor = row["real (floor)"][figure]
    above = all(row[name][figure] > floor for pair in ORDERED for name in pair)
    return above and all(row[weak][figure] < row[strong][figure] for weak, strong in ORDERED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--tasks", default="simclr,rotation,random")
    parser.add_argument("--steps", default="", help="per task, e.g. simclr=300,rotation=1200 (default: the build's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    steps = dict(item.split("=") for item in args.steps.split(",") if item)
    for root in args.folders:
        for task in args.tasks.split(","):
            row = measure(root, task, int(steps[task]) if task in steps else None)
            print(f"\n{root.name}, {task} ({row['images']} images at 64 px, build {row['build_cpu_s']:.0f} CPU-s): "
                  f"ranking {'holds' if passes(row) else 'FAILS'} (FID), {'holds' if passes(row, 'kid') else 'FAILS'} "
                  "(KID)")
            print(f"  {'copy':<16}{'FID':>9}{'x floor':>9}{'KID':>9}{'prec':>7}{'recall':>7}{'dens':>7}{'cover':>7}")
            floor = row["real (floor)"]["fid"]
            for name, f in row.items():
                if isinstance(f, dict):  # FID as a multiple of the floor: comparable across tasks' feature scales
                    print(f"  {name:<16}{f['fid']:>9.4g}{f['fid'] / floor:>9.1f}{f['kid']:>9.3g}{f['precision']:>7.2f}"
                          f"{f['recall']:>7.2f}{f['density']:>7.2f}{f['coverage']:>7.2f}")


if __name__ == "__main__":
    main()
