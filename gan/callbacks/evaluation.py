"""Sample quality during training: the model's evaluator, every N epochs, logged as `val/...`."""

import logging

import pytorch_lightning as pl
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

log = logging.getLogger(__name__)


class SampleQuality(pl.Callback):
    """At the end of every `every_n_epochs`-th training epoch, scores the generator with `pl_module.evaluator()`
    and logs its figures and the real-vs-real floor as `val/<name>` (e.g. `val/fid`, the best checkpoint's metric).

    `data` is the run's data config: the evaluator reads real images from its own copy of the datamodule, never
    from training's loaders. At fit start it says what is measured and builds a missing classifier (not under
    `fast_dev_run`). For image GANs (conf/callbacks/variant/images.yaml); the Gaussian GAN and the mixtures log their
    own figures in `validation_step`.
    """

    def __init__(self, data: DictConfig | dict, cache_dir: str | None = None, every_n_epochs: int | None = 1) -> None:
        self.data, self.cache_dir = data, cache_dir
        self.every_n_epochs = every_n_epochs or 1  # None when Lightning validates by steps: every epoch then
        self.evaluator = None

    def _evaluator(self, trainer: pl.Trainer, pl_module):
        return pl_module.evaluator(data=self.data, cache_dir=self.cache_dir, build=not trainer.fast_dev_run)

    def build_features(self, trainer: pl.Trainer, pl_module) -> None:
        """Builds a missing feature network now. gan.run calls this before the run folder exists, so a classifier that
        cannot be built (below its accuracy bar, an unwritable cache) stops the run having created nothing."""
        evaluator = self._evaluator(trainer, pl_module)
        if evaluator is not None and evaluator.can_measure():
            evaluator.prepare()

    def on_fit_start(self, trainer: pl.Trainer, pl_module) -> None:
        self.evaluator = None
        evaluator = self._evaluator(trainer, pl_module)
        if evaluator is None:
            return
        _say_what_is_measured(*evaluator.describe())
        if evaluator.can_measure():
            evaluator.prepare()  # a no-op after gan.run's build_features; Trainer.fit called directly builds here
            self.evaluator = evaluator

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        if self.evaluator is None or (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        figures = self.evaluator.evaluate(pl_module)
        # Every rank scores the same weights on the same seed: the mean over ranks is that value (a few scalars).
        pl_module.log_dict({f"val/{k}": float(v) for k, v in figures.items() if k != "eval_samples"}, sync_dist=True)


@rank_zero_only
def _say_what_is_measured(measured: list[str], not_measured: list[str]) -> None:
    """One log line each (also in run.log). Inception FID is opt-in, so its absence is news, not a warning;
    a missing classifier is worth a warning, as nothing else judges the samples."""
    for line in measured:
        log.info("sample quality measured: %s", line)
    for line in not_measured:
        (log.info if line.startswith("inception_fid") else log.warning)("sample quality NOT measured: %s", line)
