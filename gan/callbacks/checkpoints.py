"""`checkpoints/last.ckpt`, written every epoch whatever the metric does."""

from pytorch_lightning.callbacks import ModelCheckpoint


class LastCheckpoint(ModelCheckpoint):
    """Saves `<dirpath>/last.ckpt` at every epoch end, overwriting it.

    Lightning 2.6 refreshes a monitored ModelCheckpoint's `save_last` file only on epochs that improve the
    metric, so resuming could go back epochs. This one monitors nothing and always saves. Its own class also
    gives it a state key distinct from the best-by-metric ModelCheckpoint beside it (Lightning refuses two
    ModelCheckpoints with equal keys, as when neither monitors anything).
    """

    def __init__(self, dirpath: str) -> None:
        super().__init__(dirpath=dirpath, filename="last", monitor=None, save_top_k=1, enable_version_counter=False)
