"""Train the small classifier whose features FID and KID are computed over, on the data's own labels.

    python -m gan.features data=mnist                    # ~3 CPU minutes on 2 cores; test accuracy 98 %
    python -m gan.features data=fashion_mnist
    python -m gan.features data=mnist max_samples=3000 epochs=2   # a quick look (about 0.88), in its own file
    python -m gan.features data=mnist rebuild=true      # train again although a usable one is there
    python -m gan.features data=image_folder data.root=/path/to/pictures     # a folder's self-supervised features

Image runs and `gan.evaluate` build it themselves when it is missing (`ensure_classifier`); this command builds
it ahead of time, and says so and stops when a usable one is already there. With conf/features.yaml's settings
the weights go to `${paths.cache_dir}/features/<dataset>-classifier.pt` (`paths.cache_dir`: env GAN_CACHE_DIR,
else ~/.cache/gan), shared by every run and folder; other settings get a file of their own beside it, named by
them (`classifier_file`), so a quick look never replaces the shared one. A classifier whose held-out accuracy is
below `min_accuracy` (0.8) is not saved, and nothing is scored with one (`check_usable`): a 12 %-accurate
classifier maps every image to nearly the same features, and FID over them is near 0 for any generator.
The network, its training loop and its file format are gan/eval/classifier.py. The file is written whole or not at
all (a temporary file renamed into place), and builders queue on a lock file beside it, so two runs starting at
once train it once. Standard FID needs Inception weights, which every GAN library downloads at run time; this
classifier is trained here, offline, so its figures compare runs of this project with each other, not with
papers' Inception FIDs.
"""

import time
from pathlib import Path

import hydra
import torch
from filelock import FileLock
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf

from gan.eval.classifier import (  # noqa: F401 - also imported from here
    Classifier, accuracy, atomic_save, load_classifier, save_classifier, train_classifier)
from gan.errors import ConfigError, DataError, GanError

CONFIG_DIR = str(Path(__file__).resolve().parent / "conf") if (Path(__file__).parent / "conf").is_dir() else str(
    Path(__file__).resolve().parent.parent / "conf"
)  # conf/ sits beside the package in a checkout and inside it in a wheel


def check_build_settings(cfg: DictConfig) -> None:
    """One line for settings that cannot make a usable classifier, or data that is not labelled images."""
    for key in ("epochs", "batch_size", "width", "num_features"):
        if not int(cfg[key]) >= 1:
            raise ConfigError(f"{key}={cfg[key]}: a feature classifier needs {key} >= 1 (default "
                              f"{feature_defaults()[key]}); with less it cannot learn the classes FID relies on.")
    if not float(cfg.lr) > 0:
        raise ConfigError(f"lr={cfg.lr}: the classifier's learning rate must be positive (default 1e-3).")
    if not 0 <= float(cfg.min_accuracy) <= 1:
        raise ConfigError(f"min_accuracy={cfg.min_accuracy}: a held-out accuracy between 0 and 1 (default 0.8).")
    if not 0 < float(cfg.folder_held_out) < 1:
        raise ConfigError(f"folder_held_out={cfg.folder_held_out}: the share of each class folder held out, "
                          "between 0 and 1 (default 0.15).")
    if cfg.data.get("channels") is None and cfg.data.get("dataset") is None:  # numbers, 2-D points: no images
        raise ConfigError(f"data={cfg.data.get('_target_')}: feature networks are for image data (data=mnist, "
                          "data=fashion_mnist); the Gaussian and mixture GANs are scored on their own figures.")


def build(cfg: DictConfig) -> dict:
    """Train on the data's labelled train split, score on its test split, save if accurate enough; returns the info."""
    check_build_settings(cfg)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    folder = cfg.data.get("dataset") is None and cfg.data.get("labels") == "folders"
    if folder:  # a labelled folder: a held-out share of each class carved from it
        (images, labels), (test_images, test_labels) = carve_held_out(datamodule, cfg.folder_held_out, cfg.seed)
        epochs, bar = int(cfg.folder_epochs), float(cfg.folder_min_accuracy)
    elif getattr(datamodule, "train_labels", None) is None or getattr(datamodule, "test_labels", None) is None:
        raise DataError(
            f"data={cfg.data.get('_target_')} has no class labels, so no feature classifier can be trained on it. "
            "FID/KID for such data need Inception weights you have locally: eval.inception=/path/to/"
            "weights.pth (and `pip install torch-fidelity`)."
        )
    else:
        images, labels = datamodule.train_images.cpu(), datamodule.train_labels.cpu()
        test_images, test_labels = datamodule.test_images.cpu(), datamodule.test_labels.cpu()
        epochs, bar = int(cfg.epochs), float(cfg.min_accuracy)
    if cfg.max_samples is not None and int(cfg.max_samples) < 2 * datamodule.num_classes:
        raise ConfigError(f"max_samples={cfg.max_samples}: too few to learn {datamodule.num_classes} classes.")
    if cfg.max_samples is not None and cfg.max_samples < len(images):
        keep = torch.randperm(len(images), generator=torch.Generator().manual_seed(cfg.seed))[: cfg.max_samples]
        images, labels = images[keep], labels[keep]
    start = time.perf_counter()
    classifier = train_classifier(
        images, labels, datamodule.num_classes, epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr,
        seed=cfg.seed, width=cfg.width, num_features=cfg.num_features,
    )
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(classifier, test_images, test_labels)
    info = {
        "dataset": cfg.data.get("dataset") or (str(cfg.data.root) if folder else "unknown"),
        "image_shape": list(images.shape[1:]),
        "train_samples": len(images),
        "test_samples": len(test_images),
        "epochs": epochs,
        "test_accuracy": test_accuracy,
        "min_accuracy": bar,
        "train_time_s": seconds,
    }
    if test_accuracy < bar:
        advice = ("more images per class folder, or a lower folder_min_accuracy" if folder else
                  "more images or epochs (`epochs=`; in a run `eval.feature_build.epochs=`; the defaults, all "
                  "images and 2 epochs, reach about 0.98 on MNIST), or train without these figures: "
                  "eval.feature_extractor=null")
        raise ConfigError(
            f"the feature classifier reached test accuracy {test_accuracy:.3f} on {len(images)} images in {epochs} "
            f"epoch(s), below {'folder_' if folder else ''}min_accuracy={bar:g} that scoring needs; nothing was "
            f"saved. Train it on {advice}."
        )
    path = save_classifier(classifier, cfg.output, **info)
    print(
        f"feature classifier for {info['dataset']}: test accuracy {test_accuracy:.4f} "
        f"(chance {1 / datamodule.num_classes:.2f}) after {seconds:.0f} s on {len(images)} images -> {path}"
    )
    return {**info, "path": str(path)}


def carve_held_out(datamodule, share: float, seed: int) -> tuple[tuple, tuple]:
    """((train images, labels), (held-out images, labels)) of a labelled folder: `share` of each class (at least
    one image of a class of two or more), chosen by a permutation from `seed`, so the same folder always gives the
    same split. Images (N, C, S, S) in [-1, 1]."""
    from gan.eval.folder_features import decoded

    images, labels = decoded(datamodule)
    generator, held = torch.Generator().manual_seed(seed), torch.zeros(len(labels), dtype=torch.bool)
    for k in labels.unique().tolist():
        members = (labels == k).nonzero().squeeze(1)
        members = members[torch.randperm(len(members), generator=generator)]
        held[members[: max(round(share * len(members)), int(len(members) >= 2))]] = True
    images = images.float() / 127.5 - 1
    return (images[~held], labels[~held]), (images[held], labels[held])


def folder_classifier_file(data: dict, features_dir: str | Path, settings: dict | None = None,
                           listing: list | None = None) -> Path:
    """`<features_dir>/folder-<name>-classifier-<key>.pt`: a labelled folder's classifier, named by the folder's
    content and the build settings (gan.eval.folder_features.folder_key)."""
    from gan.eval.folder_features import folder_key

    chosen = {**feature_defaults(), **{k: v for k, v in (settings or {}).items() if v is not None}}
    name = Path(data["root"]).expanduser().name or "folder"
    return Path(features_dir).expanduser() / f"folder-{name}-classifier-{folder_key(data, chosen, listing)}.pt"


def ensure_classifier(path: str | Path, data: DictConfig | dict, rebuild: bool = False, **settings) -> Path:
    """The classifier file at `path`, trained on `data` first when it is missing or unusable: once, whoever asks.

    `settings` override conf/features.yaml's (e.g. max_samples=2000, epochs=1; None keeps the default); the caller
    chooses `path` (`classifier_file` names one per settings). Builders queue on `<path>.lock`; whoever gets it
    second finds the file and uses it. `rebuild`: train again even when a usable file is there.
    """
    path = Path(path).expanduser()
    if not rebuild and usable(path):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{path}.lock"):
            if not rebuild and usable(path):  # built by another run while this one waited
                return path
            cfg = build_config(data, path, **settings)
            subset = f"{cfg.max_samples} of the" if cfg.max_samples is not None else "all"
            why = ("again (rebuild=true)" if rebuild else "now, once" if not path.exists()
                   else "again (the one there is unusable)")
            folder = cfg.data.get("dataset") is None and cfg.data.get("root") is not None
            what, epochs = (f"the class folders of {cfg.data.root}", cfg.folder_epochs) if folder else (
                cfg.data.get("dataset", "this data"), cfg.epochs)
            print(f"Feature classifier for {what} at {path}: training it {why}, on "
                  f"{subset} train images for {epochs} epoch(s) (sample quality is measured in its features; "
                  "`python -m gan.features` builds it ahead of time).", flush=True)
            build(cfg)
    except GanError:
        raise
    except OSError as error:  # read-only, or a file where a folder should be
        raise DataError(f"cannot write the feature classifier into {path.parent} ({error.strerror or error}); point "
                        "GAN_CACHE_DIR (gan.run: paths.cache_dir=, gan.evaluate: --cache-dir) at a folder you can "
                        "write to, or make this one writable.") from None
    return path


def usable(path: Path) -> bool:
    """True when `path` holds a readable classifier at or above its accuracy bar (see `check_usable`)."""
    if not path.is_file():
        return False
    try:
        check_usable(load_classifier(path)[1], path)
    except GanError:
        return False
    return True


def check_usable(info: dict, path: str | Path) -> None:
    """One line when the classifier at `path` is too weak to score with: its saved held-out accuracy is below the
    bar it was built to (`min_accuracy`, 0.8 unless lowered explicitly), or it has none on record."""
    accuracy, bar = info.get("test_accuracy"), info.get("min_accuracy", feature_defaults()["min_accuracy"])
    if accuracy is None or accuracy < bar:
        shown = "no recorded" if accuracy is None else f"{accuracy:.3f}"
        raise ConfigError(
            f"the feature classifier {path} has {shown} test accuracy, below the {bar:g} needed to score with it; "
            f"rebuild it: `python -m gan.features data={info.get('dataset', '<dataset>')} rebuild=true` (or delete it)."
        )


def classifier_file(path: str | Path, settings: dict | None) -> Path:
    """`path` for conf/features.yaml's own settings; for others, a file beside it named by what differs
    (`mnist-classifier-epochs1-max_samples1000.pt`), so that no other settings ever write the shared file."""
    path, defaults = Path(path).expanduser(), feature_defaults()
    changed = [f"{k}{v:g}" if isinstance(v, float) else f"{k}{v}" for k, v in sorted((settings or {}).items())
               if k in defaults and v is not None and v != defaults[k]]
    return path.with_name(f"{path.stem}-{'-'.join(changed)}{path.suffix}") if changed else path


def feature_defaults() -> dict:
    """conf/features.yaml's training settings (not its data, paths, output or rebuild)."""
    defaults = OmegaConf.to_container(OmegaConf.load(Path(CONFIG_DIR) / "features.yaml"))
    return {k: v for k, v in defaults.items() if k not in ("defaults", "hydra", "output", "rebuild", "self_supervised")}


def build_config(data: DictConfig | dict, output: str | Path, **settings) -> DictConfig:
    """conf/features.yaml's settings for building on `data` into `output`, with `settings` (not None) on top."""
    plain = feature_defaults()
    data = OmegaConf.to_container(data, resolve=True) if isinstance(data, DictConfig) else dict(data)
    chosen = {k: v for k, v in settings.items() if v is not None}
    unknown = set(chosen) - set(plain)
    if unknown:
        raise ConfigError(f"unknown feature classifier setting(s) {sorted(unknown)}; known: {sorted(plain)}.")
    return OmegaConf.create({**plain, **chosen, "data": data, "output": str(output)})


def build_here(cfg: DictConfig) -> None:
    """`python -m gan.features`: build into `output` (default: the cache's file that runs on this data look for),
    unless a usable feature network is there already and `rebuild` is not set. A folder gets the file its runs
    use: a classifier of its class folders (data.labels=folders), else self-supervised features."""
    check_build_settings(cfg)
    settings = {k: cfg[k] for k in feature_defaults()}
    features_dir = Path(cfg.paths.cache_dir).expanduser() / "features"
    if cfg.data.get("dataset") is None and cfg.data.get("root") is not None and not cfg.data.get("labels"):
        build_folder_features(cfg, features_dir)
        return
    if cfg.data.get("dataset") is None and cfg.data.get("root") is not None:
        default = folder_classifier_file(OmegaConf.to_container(cfg.data, resolve=True), features_dir, settings)
    else:
        default = classifier_file(features_dir / f"{cfg.data.get('dataset') or 'unlabelled'}-classifier.pt", settings)
    path, what = Path(cfg.output or default).expanduser(), cfg.data.get("dataset") or cfg.data.get("root")
    if usable(path) and not cfg.rebuild:
        accuracy = load_classifier(path)[1]["test_accuracy"]
        print(f"A feature classifier for {what} is already at {path} (test accuracy {accuracy:.4f}); nothing "
              "to do. rebuild=true trains it again.")
        return
    ensure_classifier(path, cfg.data, rebuild=bool(cfg.rebuild), **settings)


def build_folder_features(cfg: DictConfig, features_dir: Path) -> None:
    """An unlabelled folder's self-supervised features, where its runs and `gan.evaluate` look for them."""
    from gan.eval.folder_features import ensure_folder_features, folder_features_file, folder_listing, settings_of

    data = OmegaConf.to_container(cfg.data, resolve=True)
    overrides = OmegaConf.to_container(cfg.self_supervised) if cfg.get("self_supervised") else None
    listing = folder_listing(data)
    least = settings_of(overrides)["min_images"]
    if len(listing) < least:
        raise DataError(f"{data['root']} has {len(listing)} images, fewer than the {least} that features of its own "
                        "need (half of them the reference, half the real-vs-real floor); nothing was built. Add "
                        "images, or lower the bar with self_supervised={min_images: N}.")
    path = Path(cfg.output or folder_features_file(data, features_dir, overrides, listing)).expanduser()
    if path.is_file() and not cfg.rebuild:
        print(f"Self-supervised features for {data['root']} are already at {path}; nothing to do. rebuild=true "
              "trains them again.")
        return
    ensure_folder_features(data, path, overrides, rebuild=bool(cfg.rebuild))


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="features")
def main(cfg: DictConfig) -> None:
    try:
        build_here(cfg)
    except (GanError, InstantiationException) as error:
        cause = error.__cause__ if isinstance(error, InstantiationException) and error.__cause__ else error
        raise SystemExit(f"error: {cause}") from None


if __name__ == "__main__":
    main()
