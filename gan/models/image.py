"""GANs whose samples are images, (B, C, H, W) in [-1, 1]: the MNIST MLP GAN and DCGAN.

The model only generates. What judges it is its `evaluator()` (gan/eval/evaluator.py): FID, KID,
precision/recall/density/coverage and class entropy over the features of the project's classifier at
`feature_extractor` (built on first need), against the held-out split, beside the real-vs-real floor.
"""

from gan.errors import ConfigError
from gan.eval.evaluator import ImageEvaluator
from gan.models.gan import GAN
from gan.validate.config import check_evaluation
from gan.validate.options import EVALUATOR_KEYS


class ImageGAN(GAN):
    """`GAN` for image data; the generator returns (B, C, H, W) in [-1, 1] whatever its architecture.

    `evaluation` holds how its samples are judged, the config's `eval` group (conf/eval/default.yaml): the feature
    network and how it is built, KID's subsets, k of precision/recall and Inception FID. It is kept as a
    hyperparameter, so a checkpoint is scored as its run was. `eval_samples` held-out images and as many generated
    ones (from a fixed evaluation seed) are behind every figure.
    """

    sample_kind = "images"

    def __init__(self, *args, eval_samples: int = 10_000, evaluation: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if int(eval_samples) < 2:
            raise ConfigError(f"model.eval_samples={eval_samples}: FID needs at least 2 samples; 10000 is usual.")
        check_evaluation(evaluation or {})

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
        evaluation = dict(self.hparams.get("evaluation") or {})
        settings = {key: evaluation[key] for key in EVALUATOR_KEYS if key in evaluation}
        settings.update(feature_extractor=evaluation.get("feature_extractor"), inception_weights=evaluation.get("inception"),
                        samples=self.hparams.eval_samples)
        settings.update({key: value for key, value in overrides.items() if value is not None})
        return ImageEvaluator(data, cache_dir=cache_dir, build=build, **settings)
