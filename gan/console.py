"""A quiet console: two lines every run printed that say nothing about the run are filtered, precisely.

- Lightning's advertisement "💡 Tip: For seamless cloud logging ... litlogger", an INFO record from its
  `rank_zero_info` logger, printed by the Trainer's logger connector whenever no LitLogger is attached.
- torch's FutureWarning "`isinstance(treespec, LeafSpec)` is deprecated", raised by Lightning's own
  `utilities/_pytree.py` at every fit (the fix is Lightning's to make).
- "You passed in a `val_dataloader` but have no `validation_step`. Skipping val loop.": by design, image GANs
  are scored by the SampleQuality callback, not in a validation loop; the datamodule still offers its held-out split.
- While a run is resumed (`resumed()`, around its fit only): Lightning's "Checkpoint directory <run>/checkpoints
  exists and is not empty", which is so by definition of a resume.

Every other warning and log line (about the user's data, config or run) still shows.
"""

import logging
import warnings
from contextlib import contextmanager

# Where Lightning's rank_zero_info logs (lightning_utilities' module logger, re-pointed by each package on import).
_RANK_ZERO_LOGGERS = (
    "pytorch_lightning.utilities.rank_zero",
    "lightning_fabric.utilities.rank_zero",
    "lightning_utilities.core.rank_zero",
    "lightning.pytorch.utilities.rank_zero",
)


class _DropLitLoggerTip(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("💡 Tip:") and "litlogger" in message)


_TIP_FILTER = _DropLitLoggerTip()


def quiet_lightning() -> None:
    """Installs both filters; calling it again adds nothing."""
    for name in _RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if _TIP_FILTER not in logger.filters:
            logger.addFilter(_TIP_FILTER)
    warnings.filterwarnings(
        "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
    )
    warnings.filterwarnings("ignore", message=r"You passed in a `val_dataloader` but have no `validation_step`")


@contextmanager
def resumed():
    """Within it, Lightning's warning that the resumed run's checkpoint folder is not empty is dropped."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty\.")
        yield
