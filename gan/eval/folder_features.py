"""Self-supervised features for an image folder: FID and friends for data no classifier or Inception can judge.

    path = ensure_folder_features(data, cache_dir)          # trained on first need, once; then read from the cache
    features = load_folder_features(path)[0]               # (B, C, S, S) in [-1, 1] -> (B, num_features)

A small conv net (`FeatureNet`) is trained on the folder's own images with a label-free task, and its pooled
feature layer is the space FID, KID and precision/recall/density/coverage are computed in (Morozov et al., ICLR
2021, argue for self-supervised features over ImageNet-trained ones; benchmarks/folder_features.py compares the
tasks). `simclr`: two augmented views of each image (crop, flip, colour jitter; never blur or noise, which the
features must see) are pulled together against the rest of the batch (NT-Xent). `rotation`: predict which of four
quarter turns an image was given. `random`: the untrained network (a control). The file sits under
`<cache_dir>/features/`, named by the folder's content (`folder_key`: file names, sizes and mtimes, and how they
are decoded) and the build settings, so a changed folder or setting gets a new file; builders queue on a lock.
"""

import hashlib
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from filelock import FileLock
from torch import nn

from gan.errors import DataError
from gan.eval.classifier import atomic_save
from gan.validate.data import iter_images

TASKS = ("simclr", "rotation", "random")
DEFAULTS = {"task": "simclr", "steps": 300, "batch_size": 64, "lr": 2e-3, "width": 32, "num_features": 128,
            "temperature": 0.2, "seed": 0,
            # Fewer images get no folder features: the reference and the floor are half the folder each, and FID,
            # KID and k-NN balls over a few dozen images say more about the draw than the generator.
            "min_images": 100}
DECODING = ("image_size", "channels", "background", "labels", "max_image_pixels")  # data keys that change the images


class FeatureNet(nn.Module):
    """Four stride-2 conv blocks, pooled to 2 x 2: (B, C, S, S) -> (B, num_features), any S >= 16."""

    def __init__(self, channels: int = 3, width: int = 32, num_features: int = 128) -> None:
        super().__init__()
        self.config = {"channels": channels, "width": width, "num_features": num_features}
        self.num_features, self.num_classes = num_features, 0  # no classes: no class figures
        blocks, c = [], channels
        for out in (width, 2 * width, 4 * width, 4 * width):  # S -> S/16
            blocks += [nn.Conv2d(c, out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            c = out
        self.body = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(4 * c, num_features))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)


class FolderFeatures(nn.Module):
    """A trained `FeatureNet`, frozen and in eval mode, with the interface the evaluator asks of a feature space."""

    def __init__(self, net: FeatureNet, image_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.num_features, self.num_classes, self.image_shape = net.num_features, 0, tuple(image_shape)

    def train(self, mode: bool = True) -> "FolderFeatures":
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[1:]) != self.image_shape:
            raise DataError(f"these folder features were trained on {self.image_shape} images, these are "
                            f"{tuple(images.shape[1:])}; they are rebuilt for the run's data.image_size/channels.")
        return self.net(images.float())

    def logits(self, features: torch.Tensor) -> None:
        return None


# ---- the label-free tasks ------------------------------------------------------------------------------------
def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """SimCLR's views without blur: a random crop of 35-100 % of the area, resized back, a flip, and colour jitter
    (brightness, contrast, saturation; grey with p = 0.2). (B, C, S, S) in [-1, 1] -> the same shape."""
    b, dev = len(images), images.device
    u = lambda *shape: torch.rand(*shape, generator=generator).to(dev)  # noqa: E731
    area, ratio = 0.35 + 0.65 * u(b), torch.exp((u(b) - 0.5) * math.log(4 / 3) * 2)
    sx, sy = (area * ratio).sqrt().clamp(max=1), (area / ratio).sqrt().clamp(max=1)
    flip = torch.where(u(b) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 1, 1] = sx * flip, sy
    theta[:, 0, 2], theta[:, 1, 2] = (1 - sx) * (2 * u(b) - 1), (1 - sy) * (2 * u(b) - 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    x = F.grid_sample(images, grid, padding_mode="border", align_corners=False)
    x = (x + 1) / 2  # [0, 1] for the colour operations
    jitter = (u(b, 1, 1, 1) < 0.8).float()
    x = x * (1 + jitter * 0.8 * (u(b, 1, 1, 1) - 0.5))  # brightness
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * (1 + jitter * 0.8 * (u(b, 1, 1, 1) - 0.5)) + mean  # contrast
    if images.shape[1] == 3:
        grey = (x * torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 3, 1, 1)).sum(1, keepdim=True)
        saturation = 1 + jitter * 0.8 * (u(b, 1, 1, 1) - 0.5)
        saturation = torch.where(u(b, 1, 1, 1) < 0.2, torch.zeros_like(saturation), saturation)  # grey views
        x = grey + (x - grey) * saturation
    return x.clamp(0, 1) * 2 - 1


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's loss: each view must pick its partner out of the 2B - 1 others. (B, D), (B, D) -> scalar."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    b = len(z1)
    partner = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(similarity, partner)


def train_features(images: torch.Tensor, task: str = "simclr", steps: int = 300, batch_size: int = 64,
                   lr: float = 2e-3, width: int = 32, num_features: int = 128, temperature: float = 0.2,
                   seed: int = 0, min_images: int = 0, progress=None) -> FeatureNet:
    """`FeatureNet` trained with `task` on (N, C, S, S) uint8 images for `steps` batches; `progress(step)` is
    called every 10 % of the steps. Its own generator and a forked RNG: the global streams never move."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = FeatureNet(images.shape[1], width, num_features)
        head = (nn.Sequential(nn.Linear(num_features, num_features), nn.ReLU(), nn.Linear(num_features, 64))
                if task == "simclr" else nn.Linear(num_features, 4))
    if task == "random":
        steps = 0
    del min_images  # the evaluator's rule, not the network's
    optimizer = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=lr)
    net.train()
    for step in range(steps):
        index = torch.randint(len(images), (min(batch_size, len(images)),), generator=generator)
        x = images[index].float() / 127.5 - 1
        if task == "simclr":
            loss = nt_xent(head(net(augment(x, generator))), head(net(augment(x, generator))), temperature)
        else:  # rotation: each image turned by k quarter turns, k predicted
            k = torch.randint(4, (len(x),), generator=generator)
            turned = torch.stack([torch.rot90(img, int(q), dims=(1, 2)) for img, q in zip(x, k)])
            loss = F.cross_entropy(head(net(turned)), k)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if progress is not None and (step + 1) % max(steps // 10, 1) == 0:
            progress(step + 1, steps, loss.item())
    if task == "random":  # BatchNorm's statistics from the data, so the control is not crippled by them
        with torch.no_grad():
            for chunk in images[torch.randperm(len(images), generator=generator)[:1024]].split(256):
                net(chunk.float() / 127.5 - 1)
    return net.eval()


# ---- the folder, its key and its file ---------------------------------------------------------------------------
def folder_listing(data: dict) -> list[tuple[str, int, int]]:
    """(relative name, size, mtime) of each image file under data.root, sorted; [] for a missing folder."""
    root = Path(data["root"]).expanduser()
    if not root.is_dir():
        return []
    return sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in iter_images(root))


def folder_key(data: dict, settings: dict, listing: list | None = None) -> str:
    """12 hex digits naming the folder's content (relative names, sizes, mtimes of its image files), how they are
    decoded (`DECODING` keys) and the build settings: any change gives another file."""
    listing = folder_listing(data) if listing is None else listing
    described = {"files": listing, "decoding": {k: data.get(k) for k in DECODING}, "settings": settings}
    return hashlib.sha1(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()[:12]


def folder_images(data: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
    """All of the folder's images as (N, C, S, S) uint8 (and their (N,) class labels, with data.labels=folders),
    in file order, decoded by the folder's own datamodule."""
    import hydra
    from omegaconf import OmegaConf

    datamodule = hydra.utils.instantiate(OmegaConf.create(data), _convert_="all")
    datamodule.setup("fit")
    return decoded(datamodule)


def decoded(datamodule) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A set-up folder datamodule's images (N, C, S, S) uint8 and labels (N,) or None."""
    dataset = datamodule.dataset
    if hasattr(dataset, "images"):  # decoded once, in memory
        return dataset.images, getattr(dataset, "labels", None)
    items = [dataset[i] for i in range(len(dataset))]
    pairs = isinstance(items[0], tuple)
    images = torch.stack([item[0] if pairs else item for item in items])
    labels = torch.tensor([int(item[1]) for item in items]) if pairs else None
    return ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8), labels


def settings_of(overrides: dict | None) -> dict:
    chosen = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(chosen) - set(DEFAULTS)
    if unknown:
        raise DataError(f"unknown self-supervised feature setting(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}.")
    settings = {**DEFAULTS, **chosen}
    if settings["task"] not in TASKS:
        raise DataError(f"self_supervised.task={settings['task']!r}: use one of {', '.join(TASKS)}.")
    return settings


def folder_features_file(data: dict, features_dir: str | Path, overrides: dict | None = None,
                         listing: list | None = None) -> Path:
    """`<features_dir>/folder-<name>-<task>-<key>.pt`, named by the folder's content and the settings."""
    settings = settings_of(overrides)
    name = Path(data["root"]).expanduser().name or "folder"
    key = folder_key(data, settings, listing)
    return Path(features_dir).expanduser() / f"folder-{name}-{settings['task']}-{key}.pt"


def ensure_folder_features(data: dict, path: str | Path, overrides: dict | None = None, rebuild: bool = False) -> Path:
    """The feature file at `path`, trained on the folder first when it is missing: once, whoever asks. `rebuild`:
    train again although it is there (the old file is replaced only once the new one is whole)."""
    path, settings = Path(path), settings_of(overrides)
    if path.is_file() and not rebuild:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{path}.lock"):
            if path.is_file() and not rebuild:  # built by another run while this one waited
                return path
            images, _ = folder_images(data)
            print(f"Self-supervised features ({settings['task']}) for {data['root']} at {path}: training them now, "
                  f"once, on its {len(images)} images for {settings['steps']} steps (sample quality is measured in "
                  "them).", flush=True)
            wall, cpu = time.perf_counter(), time.process_time()
            progress = lambda step, steps, loss: print(  # noqa: E731
                f"  self-supervised features: step {step}/{steps}, loss {loss:.3f}, "
                f"{time.perf_counter() - wall:.0f} s", flush=True)
            net = train_features(images, progress=progress, **settings)
            info = {"task": settings["task"], "root": str(data["root"]), "images": len(images),
                    "image_shape": list(images.shape[1:]), "settings": settings,
                    "train_time_s": time.perf_counter() - wall, "cpu_time_s": time.process_time() - cpu}
            state = {k: v.cpu() for k, v in net.state_dict().items()}
            atomic_save({"state_dict": state, "config": net.config, "info": info}, path)
            print(f"self-supervised features for {data['root']}: built in {info['train_time_s']:.0f} s "
                  f"({info['cpu_time_s']:.0f} CPU-s) -> {path}", flush=True)
    except OSError as error:
        raise DataError(f"cannot write the folder's feature network into {path.parent} ({error.strerror or error}); "
                        "point GAN_CACHE_DIR (gan.run: paths.cache_dir=, gan.evaluate: --cache-dir) at a folder you "
                        "can write to.") from None
    return path


def load_folder_features(path: str | Path) -> tuple[FolderFeatures, dict]:
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        net = FeatureNet(**saved["config"])
        net.load_state_dict(saved["state_dict"])
    except Exception as error:
        raise DataError(f"cannot read the folder's feature network {path} ({type(error).__name__}: {error}); "
                        "delete it and it is trained again.") from error
    info = dict(saved.get("info", {}))
    return FolderFeatures(net, info["image_shape"]), info
