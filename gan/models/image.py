"""GANs whose samples are images, (B, C, H, W) in [-1, 1]: the MNIST MLP GAN and DCGAN.

Sample quality is measured offline (see gan/metrics/image.py): FID, KID and class entropy over the features
of the classifier at `feature_extractor` (built by `python -m gan.features`), on the held-out split at each
validation (`trainer.check_val_every_n_epoch`) and at the end beside the real-vs-real floor.
"""

from collections.abc import Iterator
from pathlib import Path

import torch
from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn
from pytorch_lightning.utilities.model_helpers import is_overridden

from gan.errors import ConfigError
from gan.features import load_classifier
from gan.metrics.image import ImageQuality, InceptionFID, uniform_entropy
from gan.models.gan import GAN

QUALITY_KEYS = ("fid", "kid", "kid_std", "class_entropy", "mode_coverage", "inception_fid")


class ImageGAN(GAN):
    """`GAN` for image data; the generator returns (B, C, H, W) in [-1, 1] whatever its architecture.

    `eval_samples` held-out images and as many generated ones (from a fixed evaluation seed, so figures
    are comparable over time and training's noise stream is untouched) go into every figure.
    """

    def __init__(
        self,
        *args,
        eval_samples: int = 10_000,
        feature_extractor: str | None = None,
        inception_weights: str | None = None,
        kid_subset_size: int = 1000,
        kid_subsets: int = 10,
        pack: int = 1,  # PacGAN packing, recorded here and applied by the discriminator (gan.networks.packing)
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        if int(eval_samples) < 2:
            raise ConfigError(f"model.eval_samples={eval_samples}: FID needs at least 2 samples; 10000 is usual.")
        self._val_quality: list | None = None  # built at the first validation; never part of the state_dict

    # ---- what can be measured -----------------------------------------------------------------
    def quality_metrics(self) -> list:
        """Fresh metric objects for what is available: [ImageQuality over our classifier, InceptionFID]."""
        metrics = []
        path = self.hparams.feature_extractor
        if path and Path(path).is_file():
            classifier, info = load_classifier(path)
            metrics.append(
                ImageQuality(
                    classifier, self.hparams.kid_subset_size, self.hparams.kid_subsets, info.get("image_shape")
                )
            )
        if self.hparams.inception_weights:
            metrics.append(InceptionFID(self.hparams.inception_weights))
        return [m.to(self.device) for m in metrics]

    def describe_quality(self) -> tuple[list[str], list[str]]:
        """(what is measured, what is not and why), in words for the console and evaluation.json."""
        measured, not_measured = [], []
        path = self.hparams.feature_extractor
        if path and Path(path).is_file():
            _, info = load_classifier(path)
            accuracy = info.get("test_accuracy")
            measured.append(
                f"fid, kid, class_entropy, mode_coverage over the features of {path}"
                + (f" (classifier test accuracy {accuracy:.3f})" if accuracy is not None else "")
            )
        else:
            not_measured.append(
                f"fid, kid, class_entropy, mode_coverage: no feature classifier at {path}; build one with "
                "`python -m gan.features data=<dataset>` (labelled data only: an unlabelled image folder has none)"
            )
        if self.hparams.inception_weights:
            measured.append(f"inception_fid (standard FID) with the Inception weights {self.hparams.inception_weights}")
        else:
            not_measured.append("inception_fid: no model.inception_weights file given (never downloaded)")
        return measured, not_measured

    def on_fit_start(self) -> None:
        measured, not_measured = self.describe_quality()
        for line in measured:
            rank_zero_info(f"sample quality measured: {line}")
        for line in not_measured:
            # Inception FID is opt-in; a missing classifier is worth a warning, as nothing else judges samples.
            (rank_zero_info if line.startswith("inception_fid") else rank_zero_warn)(f"sample quality NOT measured: {line}")
        monitor = self.hparams.monitor or ""
        if monitor.startswith("val/") and monitor[4:] in QUALITY_KEYS and not self._can_measure(monitor[4:]):
            # The best checkpoint would wait for a figure that never comes; keep last.ckpt only.
            for callback in self.trainer.checkpoint_callbacks:
                if getattr(callback, "monitor", None) == monitor:
                    callback.monitor, callback.save_top_k = None, 0
            rank_zero_warn(f"model.monitor={monitor} is not measured in this run: no best-*.ckpt, only last.ckpt.")

    def _can_measure(self, key: str) -> bool:
        if key == "inception_fid":
            return bool(self.hparams.inception_weights)
        return bool(self.hparams.feature_extractor) and Path(self.hparams.feature_extractor).is_file()

    # ---- validation: held-out split every check_val_every_n_epoch epochs ----------------------
    def validation_step(self, batch, batch_idx: int) -> None:
        if self._val_quality is None:
            self._val_quality = self.quality_metrics()
        need = self.hparams.eval_samples - _real_count(self._val_quality)
        if self._val_quality and need > 0:  # the held-out features are kept after the first validation
            real = self.real_from_batch(batch)[:need].to(self.device)
            for metric in self._val_quality:
                metric.update(real, real=True)

    def on_validation_epoch_end(self) -> None:
        if self._val_quality and _real_count(self._val_quality) >= 2:  # FID needs two samples a side
            figures = self._score_generator(self._val_quality, _real_count(self._val_quality))
            # Under DDP each rank holds its shard of the held-out split: sync_dist averages the ranks' figures, so
            # every rank logs (and the best checkpoint monitors) one value.
            self.log_dict({f"val/{key}": float(value) for key, value in figures.items()}, sync_dist=True)

    # ---- the final figures (metrics.json, gan.evaluate) ---------------------------------------
    def evaluate(self, datamodule=None, seed: int = 0) -> dict[str, float]:
        """The generator's figures beside the real-vs-real floor: the same number of real train images
        scored against the same held-out reference. Empty when nothing can be measured."""
        if self._trainer is not None and self._trainer.fast_dev_run and datamodule is None:
            return {}  # a smoke test: validation already ran the figures once on a single batch
        datamodule = datamodule or getattr(self._trainer, "datamodule", None)
        metrics = self.quality_metrics()
        if not metrics or datamodule is None:
            return {}
        with torch.random.fork_rng(devices=[]):  # the floor's train loader seeds its shuffle from torch's seed
            torch.manual_seed(seed)
            reference, floor_source = _reference_and_floor(datamodule)
            for real in _take(reference, self.hparams.eval_samples, self.real_from_batch):
                for metric in metrics:
                    metric.update(real.to(self.device), real=True)
            n = _real_count(metrics)
            if n < 2:
                return {}  # an empty held-out split: nothing to compare with
            figures = self._score_generator(metrics, n, seed)
            for metric in metrics:
                metric.reset_fake()
            seen = 0
            for real in _take(floor_source, n, self.real_from_batch):
                seen += len(real)
                for metric in metrics:
                    metric.update(real.to(self.device), real=False)
            if seen >= 2:
                floor = {k: v for m in metrics for k, v in m.compute(seed).items()}
                figures.update({f"{k}_floor": floor[k] for k in ("fid", "kid", "inception_fid") if k in floor})
                if "class_entropy" in floor:
                    figures["class_entropy_real"] = floor["class_entropy"]
        if isinstance(metrics[0], ImageQuality):
            figures["class_entropy_uniform"] = uniform_entropy(metrics[0].num_classes)
        figures["eval_samples"] = n
        return figures

    def _score_generator(self, metrics: list, n: int, seed: int = 0, chunk: int = 1000) -> dict[str, float]:
        """Scores `n` samples drawn from a fixed seed against the real features the metrics hold."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            noise = self.sample_noise(n, device="cpu")  # (n, *latent_shape), the same every call
        for metric in metrics:
            metric.reset_fake()
        for part in noise.split(chunk):
            fake = self.generate(noise=part)
            for metric in metrics:
                metric.update(fake, real=False)
        return {key: value for metric in metrics for key, value in metric.compute(seed).items()}


def _real_count(metrics: list) -> int:
    return metrics[0].real_count if metrics else 0


def _reference_and_floor(datamodule) -> tuple[Iterator, Iterator]:
    """(held-out batches, train batches); without a held-out split, one train stream serves both in turn."""
    if is_overridden("val_dataloader", datamodule):
        return iter(datamodule.val_dataloader()), iter(datamodule.train_dataloader())
    stream = iter(datamodule.train_dataloader())
    return stream, stream


def _take(batches: Iterator, n: int, real_from_batch) -> Iterator[torch.Tensor]:
    """The first `n` images of a stream of batches (no batch beyond them is drawn)."""
    while n > 0:
        batch = next(batches, None)
        if batch is None:
            return
        images = real_from_batch(batch)[:n]
        n -= len(images)
        yield images
