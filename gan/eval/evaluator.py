"""Evaluation as its own component: an evaluator takes a generator and returns figures.

    evaluator = model.evaluator(data=cfg.data, cache_dir=cfg.paths.cache_dir)   # the model says what judges it
    figures = evaluator.evaluate(model)          # its figures beside the real-vs-real floor

The `SampleQuality` callback (`val/...` every N epochs), the end of `gan.run` (metrics.json, `final_figures`) and
`gan.evaluate` all call it; none re-implements it. An image evaluator owns the feature classifier (built on first
need, loaded once per process), the real reference features (computed once per dataset, split, sample count and
classifier, and cached in memory and under `<cache_dir>/reference/`) and the real-vs-real floor. It reads real
images from its own copy of the datamodule, so training's loaders, their saved state and the training RNG are
never touched: all its randomness comes from its own seed, in a forked RNG.
"""

import contextlib
import hashlib
import json
import math
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities.model_helpers import is_overridden

from gan.features import (atomic_save, check_usable, classifier_file, ensure_classifier, folder_classifier_file,
                          load_classifier)
from gan.eval.folder_features import (ensure_folder_features, folder_features_file, folder_key, folder_listing,
                                 load_folder_features, settings_of)
from gan.eval.gaussian import gaussian_report
from gan.eval.image import (ClassifierFeatures, InceptionFID, class_accuracy, class_spread, describe_inception,
                               frechet_distance, hub_inception_file, intra_class_fid, kernel_distance,
                               matched_accuracy)
from gan.eval.prdc import nearest_neighbour_radii, prdc

CHUNK = 1000  # images per generator / classifier call
_CLASSIFIERS: dict = {}  # (path, mtime, size) -> (features, info, digest): loaded once per process
_REAL: dict = {}  # cache file name -> {"features", "predicted", "radii"}: real features, once per process
_FLOORS: dict = {}  # (floor features' name, KID and Inception settings) -> the floor's figures, once per process


class ImageEvaluator:
    """FID, KID, precision/recall/density/coverage (k-NN, k=`nearest_k`), class entropy and mode coverage of a
    generator's images, over the features of the project's classifier, against `samples` held-out images
    (the train split when there is none); the floor scores as many other real images the same way.

    A conditional generator (`model.conditional`) is asked for every class equally often; it is also scored by
    `class_accuracy` (how often the classifier predicts the asked label) and `intra_fid` (the mean over classes
    of the FID between its class-k images and the real class-k images), when its classes are the classifier's.
    """

    # Below this, figures mislead (gan.evaluate warns): FID estimates 128 x 128 feature covariances (singular with
    # fewer samples than features), KID's subsets shrink to the sample count (10 images gave KID -34) and PRDC's
    # k=5 neighbourhoods span most of the set.
    min_samples = 200

    def __init__(
        self,
        data: DictConfig | dict,
        feature_extractor: str | None,
        samples: int = 10_000,
        kid_subset_size: int = 1000,
        kid_subsets: int = 10,
        nearest_k: int = 5,
        inception_weights: str | None = None,
        cache_dir: str | None = None,
        build: bool = True,
        feature_build: dict | None = None,
        seed: int = 0,
    ) -> None:
        """`build`: train the classifier when it is missing; `feature_build`: conf/features.yaml overrides for that."""
        self.data = OmegaConf.to_container(data, resolve=True) if isinstance(data, DictConfig) else dict(data)
        self.dataset = self.data.get("dataset")  # None: unlabelled images, no classifier can be trained
        # Names the real images in cache keys: the dataset, else (a folder, a test's data) the data config itself.
        described = json.dumps(self.data, sort_keys=True, default=str).encode()
        self.data_key = self.dataset or f"data-{hashlib.sha1(described).hexdigest()[:8]}"
        if self.dataset and self.data.get("image_size") not in (None, 28):  # MNIST padded to 32 px: other images
            self.data_key = f"{self.dataset}-{self.data['image_size']}px"
        self.feature_build = {k: v for k, v in (feature_build or {}).items() if v is not None}
        self.self_supervised = self.feature_build.pop("self_supervised", None) or {}
        # An image folder without a feature file of its own gets one named by its content, beside the configured one:
        # a classifier of its class folders (data.labels=folders), else self-supervised features (folder_features.py).
        self.folder = self.dataset is None and self.data.get("root") is not None
        given = Path(feature_extractor).expanduser() if feature_extractor else None
        self.route = None if given is None else "classifier" if not self.folder or given.is_file() else (
            "folder-classifier" if self.data.get("labels") else "self-supervised")
        self._given, self._path, self._listing = given, None, None
        self.samples, self.kid_subset_size, self.kid_subsets = int(samples), kid_subset_size, kid_subsets
        self.nearest_k, self.seed, self.build = nearest_k, seed, build
        self.inception_weights = inception_weights
        self.cache_dir = Path(cache_dir).expanduser() / "reference" if cache_dir else None
        self._datamodule = self._inception = None

    @property
    def path(self) -> Path | None:
        """The feature network's file; for a folder it is named by hashing the folder's listing, on first ask."""
        if self._path is None and self.route == "classifier":
            # Built with other settings than conf/features.yaml's, the classifier has a file of its own.
            self._path = classifier_file(self._given, self.feature_build)
        elif self._path is None and self.route == "folder-classifier":
            self._path = folder_classifier_file(self.data, self._given.parent, self.feature_build, self._files())
        elif self._path is None and self.route == "self-supervised":
            self._path = folder_features_file(self.data, self._given.parent, self.self_supervised, self._files())
        return self._path

    def _files(self) -> list:
        if self._listing is None:
            self._listing = folder_listing(self.data)
        return self._listing

    def _too_few(self) -> str | None:
        """Why a folder is too small to be scored in features of its own (None when it is not)."""
        least = settings_of(self.self_supervised)["min_images"]
        if self.route not in ("folder-classifier", "self-supervised") or len(self._files()) >= least:
            return None
        what = "unlabelled images have no classes to train a feature classifier on, and " if (
            self.route == "self-supervised") else ""
        return (f"{what}{self.data['root']} has {len(self._files())} images, fewer than the {least} that features "
                "of its own and their figures need (half of them the reference, half the real-vs-real floor)")

    def feature_space(self) -> str | None:
        """Which features the figures are computed in, in words (the output and metrics.json say it)."""
        if self.route is None:
            return None
        if self.route == "self-supervised":
            task = load_features_cached(self.path, True)[1]["task"] if self.path.is_file() else (
                self.self_supervised.get("task") or "simclr")
            return f"self-supervised ({task}) on {self.data['root']}: {self.path}"
        accuracy = load_features_cached(self.path)[1].get("test_accuracy") if self.path.is_file() else None
        shown = f" (held-out accuracy {accuracy:.3f})" if accuracy is not None else ""
        if self.route == "folder-classifier":
            return f"classifier of the class folders of {self.data['root']}{shown}: {self.path}"
        return f"classifier {self.path}{shown}"

    # ---- what is measured -----------------------------------------------------------------------
    def describe(self) -> tuple[list[str], list[str]]:
        """(what is measured, what is not and why), in words for the console and evaluation.json."""
        measured, not_measured = [], []
        names = f"fid, kid, precision, recall, density, coverage (k={self.nearest_k})" + (
            "" if self.route == "self-supervised" else
            ", class_entropy, mode_coverage (conditional models: class_accuracy, intra_fid)")
        if self.route is None:
            not_measured.append(f"{names}: eval.feature_extractor=null")
        elif self._too_few():
            not_measured.append(f"{names}: {self._too_few()}")
        elif self.path.is_file():
            measured.append(f"{names} in the features: {self.feature_space()}")
        elif self.folder and not self.build:
            not_measured.append(f"{names}: no feature network for {self.data['root']} yet ({self.path}), and this "
                                "run builds none (fast_dev_run); a run without it, or gan.evaluate, builds it")
        elif self.dataset is None and not self.folder:  # a test's data: no classifier can be trained on it
            not_measured.append(f"{names}: unlabelled images have no classes to train a feature classifier on")
        elif not self.build:
            not_measured.append(f"{names}: no feature classifier at {self.path}, and this run builds none "
                                f"(fast_dev_run); build it with `python -m gan.features data={self.dataset}`")
        else:
            measured.append(f"{names} in the features: {self.feature_space()} (trained now: it is missing)")
        if self.inception_weights:
            measured.append(f"inception_fid (standard FID) with {describe_inception(self.inception_weights)}")
        else:
            cached = " (the torch hub cache holds them: eval.inception=download uses them)" if hub_inception_file(
                ).is_file() else ""
            not_measured.append(f"inception_fid: eval.inception=null: no FID Inception weights named (a file, or "
                                f"download; never fetched unasked){cached}")
        return measured, not_measured

    def can_measure(self) -> bool:
        return self.features_measured() or bool(self.inception_weights)

    def reads_data(self) -> bool:
        """False when everything real is cached: a usable classifier and its reference and floor features on disk."""
        if not self.can_measure():
            return False
        if self.inception_weights or not self.path.is_file() or self.cache_dir is None:
            return True
        return not all((self.cache_dir / self._cache_name(role)).is_file() for role in ("reference", "floor"))

    def features_measured(self) -> bool:
        if self.route is None or self._too_few():
            return False
        return self.path.is_file() or (self.build and (self.dataset is not None or self.folder))

    def prepare(self) -> None:
        """Builds the feature network now if it is missing and will be needed (else at the first evaluation)."""
        if self.features_measured() and not self.path.is_file():
            with _forked_rng(torch.device("cpu")):
                self._classifier()

    # ---- figures --------------------------------------------------------------------------------
    def evaluate(self, model) -> dict[str, float]:
        """The generator's figures and the real-vs-real floor beside each; {} when nothing can be measured."""
        if not self.can_measure():
            return {}
        with _forked_rng(model.device):
            reference = self._real(model, "reference")
            figures = self._score(model, reference)
            figures.update(self.floor(model, reference))
        return figures

    def floor(self, model, reference: dict | None = None) -> dict[str, float]:
        """Real-vs-real: as many real images disjoint from the reference, scored like a generator (once per process)."""
        with _forked_rng(model.device):
            reference = reference or self._real(model, "reference")
            key = (self.data_key, self.samples, self._cache_name("floor"), self.kid_subsets, self.kid_subset_size,
                   self.inception_weights)  # fmt: skip
            if key not in _FLOORS:
                other = self._real(model, "floor")
                floor = self._compare(reference, other, model, images=lambda: self._real_images(model, "floor"))
                renamed = {"class_entropy": "class_entropy_real", "mode_coverage": None, "eval_samples": None}
                kept = [k for k in floor if renamed.get(k, "") is not None]
                _FLOORS[key] = {renamed.get(k, f"{k}_floor"): floor[k] for k in kept}
                if reference and reference.get("num_classes"):
                    _FLOORS[key]["class_entropy_uniform"] = math.log(reference["num_classes"])
        return dict(_FLOORS[key])

    def _score(self, model, reference: dict) -> dict[str, float]:
        n = len(reference["features"]) if reference else self.samples
        torch.manual_seed(self.seed)  # inside the forked RNG of `evaluate`
        noise = model.sample_noise(n, device="cpu")  # (n, *latent_shape) from the evaluation seed: the same each call
        labels = model.balanced_labels(n, device="cpu") if getattr(model, "conditional", False) else None
        label_parts = labels.split(CHUNK) if labels is not None else [None] * len(noise.split(CHUNK))
        fakes = lambda: (model.generate(noise=z) if c is None else model.generate(noise=z, labels=c)  # noqa: E731
                         for z, c in zip(noise.split(CHUNK), label_parts))
        fake = self._features_of(fakes()) if reference else None
        figures = self._compare(reference, fake, model, images=fakes)
        codes = model.categorical_code(noise) if hasattr(model, "categorical_code") and fake is not None else None
        if codes is not None and reference["num_classes"]:  # InfoGAN: how well its unsupervised code, matched one-to-one to classes, names them
            figures["code_accuracy"] = matched_accuracy(codes, fake["predicted"], reference["num_classes"])
        if fake is not None and labels is not None and model.num_classes == reference["num_classes"]:
            figures["class_accuracy"] = class_accuracy(fake["predicted"], labels)
            if reference.get("labels") is not None:
                intra = intra_class_fid(reference["features"], reference["labels"], fake["features"], labels)
                if math.isfinite(intra):  # left out when no class has 2 real and 2 generated samples
                    figures["intra_fid"] = intra
        return figures

    def _compare(self, reference: dict | None, other: dict | None, model, images) -> dict[str, float]:
        figures: dict[str, float] = {}
        if reference and other and len(other["features"]) >= 2:
            real, fake = reference["features"], other["features"]
            kid, kid_std = kernel_distance(real, fake, self.kid_subsets, self.kid_subset_size, self.seed)
            figures.update(fid=frechet_distance(real, fake), kid=kid, kid_std=kid_std)
            if min(len(real), len(fake)) > self.nearest_k:
                figures.update(prdc(real, fake, self.nearest_k, reference["radii"], other.get("radii")))
            if reference["num_classes"]:  # self-supervised features have no classes
                figures.update(class_spread(other["predicted"], reference["num_classes"]))
            figures["eval_samples"] = len(fake)
        if self.inception_weights:
            inception = self._inception_reference(model)
            inception.reset_fake()
            for batch in images():
                inception.update(batch.to(model.device), real=False)
            figures["inception_fid"] = inception.compute()["inception_fid"]
        return figures

    # ---- real images and their features -----------------------------------------------------------
    def _classifier(self) -> tuple[ClassifierFeatures, dict, str]:
        if self.route == "self-supervised":
            if self.build:
                ensure_folder_features(self.data, self.path, self.self_supervised)
            return load_features_cached(self.path, self_supervised=True)
        if self.build:
            ensure_classifier(self.path, self.data, **self.feature_build)
        return load_features_cached(self.path)

    def _real(self, model, role: str) -> dict | None:
        """{"features" (n, D), "predicted" (n,), "radii" (n,), "num_classes"} of the reference or floor images."""
        if not self.features_measured():
            return None
        features = self._classifier()[0]
        name = self._cache_name(role)
        if name not in _REAL:
            cached = self._load_cached(name)
            if cached is None or "labels" not in cached:  # files from before labels were kept: computed again
                labelled = []
                cached = self._features_of(self._real_images(model, role, labelled), features)
                cached["labels"] = torch.cat(labelled) if labelled and all(y is not None for y in labelled) else None
                if len(cached["features"]) > self.nearest_k:
                    cached["radii"] = nearest_neighbour_radii(cached["features"], self.nearest_k)
                if self._on_disk():
                    with contextlib.suppress(OSError):  # a read-only shared cache: computed here, kept in memory only
                        atomic_save(cached, self.cache_dir / name)
            _REAL[name] = cached
        return {**_REAL[name], "num_classes": features.num_classes}

    def _cache_name(self, role: str) -> str | None:
        """What names a set of real features: data, role, count, seed, k and the classifier file's digest."""
        if not self.features_measured() or not self.path.is_file():
            return None
        digest = load_features_cached(self.path, self.route == "self-supervised")[2]
        data = self.data_key
        if self.folder:  # named by the folder's content and decoding, so a changed folder is read again
            data = f"folder-{Path(self.data['root']).expanduser().name}-{folder_key(self.data, {}, self._files())}"
        return f"{data}-{role}-{self.samples}-seed{self.seed}-k{self.nearest_k}-{digest}.pt"

    def _on_disk(self) -> bool:
        """Real features are kept on disk for a named dataset and for a folder (named by its content)."""
        return self.cache_dir is not None and (self.dataset is not None or self.folder)

    def _load_cached(self, name: str) -> dict | None:
        path = self.cache_dir / name if self._on_disk() else None
        if path is None or not path.is_file():
            return None
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # a damaged file: computed again and rewritten
            return None

    def _features_of(self, batches, features: ClassifierFeatures | None = None) -> dict:
        features = features or self._classifier()[0]
        chunks, predicted = [], []
        for images in batches:
            device = images.device
            feats = features.to(device)(images)
            chunks.append(feats.float().cpu())
            if features.num_classes:
                predicted.append(features.logits(feats).argmax(1).cpu())
        return {"features": torch.cat(chunks), "predicted": torch.cat(predicted) if predicted else None}

    def _real_images(self, model, role: str, labels: list | None = None):
        """The first `samples` held-out images (reference), or as many train images not among them (floor);
        their labels (None for unlabelled data) are appended to `labels` when it is given.

        Without a held-out split the train stream serves both: its first `samples`, then the next ones.
        The train loader is this evaluator's own (its own datamodule), shuffled from the evaluation seed.
        """
        datamodule = self._data()
        if self.folder:
            yield from self._folder_images(model, role, labels)
            return
        held_out = is_overridden("val_dataloader", datamodule)
        torch.manual_seed(self.seed)  # the loaders seed their shuffle from torch's seed (inside a forked RNG)
        if role == "reference":
            batches, skip = iter(datamodule.val_dataloader() if held_out else datamodule.train_dataloader()), 0
        else:
            batches, skip = iter(datamodule.train_dataloader()), 0 if held_out else self.samples
        wanted = self.samples
        for batch in batches:
            images = model.real_from_batch(batch)
            batch_labels = batch[1] if isinstance(batch, (tuple, list)) and len(batch) > 1 else None
            if skip >= len(images):
                skip -= len(images)
                continue
            if labels is not None:
                labels.append(None if batch_labels is None else batch_labels[skip:][:wanted].long().cpu())
            images, skip = images[skip:][:wanted], 0
            wanted -= len(images)
            yield images.to(model.device)
            if wanted <= 0:
                return

    def _folder_images(self, model, role: str, labels: list | None = None):
        """A folder has no held-out split: its images in an order drawn from the evaluation seed, the first
        `samples` (at most half) the reference, as many next ones the floor; no image is dropped or read twice."""
        dataset = self._data().dataset
        n = min(self.samples, len(dataset) // 2)
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.seed))
        chosen = order[:n] if role == "reference" else order[n : 2 * n]
        for index in chosen.split(CHUNK):
            items = [dataset[i] for i in index.tolist()]
            pairs = isinstance(items[0], tuple)  # (image, label) with data.labels=folders
            if labels is not None:
                labels.append(torch.tensor([int(item[1]) for item in items]) if pairs else None)
            yield torch.stack([item[0] if pairs else item for item in items]).to(model.device)

    def _data(self):
        if self._datamodule is None:
            self._datamodule = hydra.utils.instantiate(OmegaConf.create(self.data), _convert_="all")
            self._datamodule.setup("fit")
        return self._datamodule

    def _inception_reference(self, model) -> InceptionFID:
        if self._inception is None:
            self._inception = InceptionFID(self.inception_weights).to(model.device)
            for images in self._real_images(model, "reference"):
                self._inception.update(images, real=True)
        return self._inception.to(model.device)


class OwnFiguresEvaluator:
    """A toy model's own figures (`model.evaluate(seed, samples)`: the Gaussian GAN's moments, KS and W1, a
    mixture's PacGAN mode figures) on `samples` fresh draws from a fixed seed, in a forked RNG."""

    min_samples = 100  # KS, W1 and a mode histogram over fewer draws say more about the draws than the generator

    def __init__(self, what: str, samples: int, seed: int = 0) -> None:
        self.what, self.samples, self.seed = what, int(samples), seed

    def describe(self) -> tuple[list[str], list[str]]:
        return [f"{self.what} of {self.samples} fresh samples"], []

    def can_measure(self) -> bool:
        return True

    def reads_data(self) -> bool:
        return False  # the model draws its own target

    def prepare(self) -> None:
        pass

    def evaluate(self, model) -> dict[str, float]:
        with _forked_rng(model.device):
            return model.evaluate(seed=self.seed, samples=self.samples)


def final_figures(model, cfg: DictConfig, build: bool = True) -> dict[str, float]:
    """The figures a run ends with (metrics.json): its evaluator's, over its own data and cache."""
    evaluator = model.evaluator(data=cfg.data, cache_dir=cfg.paths.cache_dir, build=build)
    figures = evaluator.evaluate(model) if evaluator is not None else {}
    space = getattr(evaluator, "feature_space", lambda: None)() if figures else None
    return {**figures, "features": space} if space and "fid" in figures else figures


def load_features_cached(path: Path, self_supervised: bool = False) -> tuple[ClassifierFeatures, dict, str]:
    """(frozen features, info, short digest of the file) of a usable classifier file (or a folder's self-supervised
    feature network); read once per process and version. One line (`check_usable`) for a classifier too weak."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _CLASSIFIERS:
        if self_supervised:
            features, info = load_folder_features(path)
        else:
            classifier, info = load_classifier(path)
            check_usable(info, path)  # never scores with a classifier below its accuracy bar
            features = ClassifierFeatures(classifier, info.get("image_shape"))
        digest = hashlib.sha1(path.read_bytes()).hexdigest()[:12]  # names the reference features it produced
        _CLASSIFIERS[key] = (features, info, digest)
    return _CLASSIFIERS[key]




@contextlib.contextmanager
def _forked_rng(device: torch.device):
    """Everything inside draws from a copy of the RNG: the training noise and data streams never move."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        yield
