"""GANs whose samples are images, (B, C, H, W) in [-1, 1]: the MNIST MLP GAN and DCGAN.

The model only generates. What judges it is its `evaluator()` (gan/evaluation.py): FID, KID,
precision/recall/density/coverage and class entropy over the features of the project's classifier at
`feature_extractor` (built on first need), against the held-out split, beside the real-vs-real floor.
"""

from gan.errors import ConfigError
from gan.evaluation import ImageEvaluator
from gan.models.gan import GAN


class ImageGAN(GAN):
    """`GAN` for image data; the generator returns (B, C, H, W) in [-1, 1] whatever its architecture.

    The evaluation settings are kept as hyperparameters for `evaluator()`: `eval_samples` held-out images and
    as many generated ones (from a fixed evaluation seed) behind every figure.
    """

    sample_kind = "images"

    def __init__(
        self,
        *args,
        eval_samples: int = 10_000,
        feature_extractor: str | None = None,
        inception_weights: str | None = None,
        kid_subset_size: int = 1000,
        kid_subsets: int = 10,
        nearest_k: int = 5,
        feature_build: dict | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        if int(eval_samples) < 2:
            raise ConfigError(f"model.eval_samples={eval_samples}: FID needs at least 2 samples; 10000 is usual.")
        if int(nearest_k) < 1:
            raise ConfigError(f"model.nearest_k={nearest_k}: precision/recall need k >= 1 neighbours; 5 is usual.")

    def check_sample_request(self, n, label=None, per_class=None, steps=None) -> None:
        from gan.sampling import sample_labels

        sample_labels(self, n or 64, label, per_class)  # its one-line errors for --label/--per-class

    def write_samples(self, out, n, seed, **request) -> list:
        """grid.png, images/*.png and samples.pt (64 unless `n`); gan/sampling.py `sample_images`."""
        from gan.sampling import sample_images

        return sample_images(self, n or 64, out, seed, **request)

    def evaluator(self, data, cache_dir: str | None = None, build: bool = True, **overrides) -> ImageEvaluator:
        """What judges this model's samples on `data` (a data config); `overrides` replace settings for one call
        (`samples`, `feature_extractor`, `inception_weights`, ...) without touching the hyperparameters."""
        settings = {
            "samples": self.hparams.eval_samples,
            "feature_extractor": self.hparams.feature_extractor,
            "inception_weights": self.hparams.inception_weights,
            "kid_subset_size": self.hparams.kid_subset_size,
            "kid_subsets": self.hparams.kid_subsets,
            "nearest_k": self.hparams.get("nearest_k", 5),  # runs saved before these keys existed
            "feature_build": self.hparams.get("feature_build"),
        }
        settings.update({key: value for key, value in overrides.items() if value is not None})
        return ImageEvaluator(data, cache_dir=cache_dir, build=build, **settings)
