"""`checkpoints/last.ckpt`, written every epoch whatever the metric does, and where a step limit stops a run;
the best checkpoint by the run's metric; both still knowing their files after the run folder moved."""

from pytorch_lightning.callbacks import ModelCheckpoint

_PATH_KEYS = ("best_model_path", "kth_best_model_path", "last_model_path")


class RunCheckpoint(ModelCheckpoint):
    """A ModelCheckpoint that follows its run folder when the folder is moved or copied and then resumed.

    Lightning forgets which checkpoints were best when the saved `dirpath` differs from the present one (and warns
    so). Here the saved paths move along, and the state is restored as it would be had the folder stayed.
    """

    def load_state_dict(self, state_dict: dict) -> None:
        old, new = state_dict.get("dirpath"), self.dirpath
        if old and new and old != new:
            def move(path):
                under = isinstance(path, str) and (path == old or path.startswith(old.rstrip("/") + "/"))
                return new + path[len(old):] if under else path

            moved = {k: move(state_dict[k]) for k in _PATH_KEYS if k in state_dict}
            state_dict = {**state_dict, "dirpath": new, **moved}
            if isinstance(state_dict.get("best_k_models"), dict):
                state_dict["best_k_models"] = {move(k): v for k, v in state_dict["best_k_models"].items()}
        super().load_state_dict(state_dict)


class LastCheckpoint(RunCheckpoint):
    """Saves `<dirpath>/last.ckpt` at every epoch end, and at the step where `trainer.max_steps` stops a run.

    Lightning 2.6 refreshes a monitored ModelCheckpoint's `save_last` file only on epochs that improve the
    metric, so resuming could go back epochs. This one monitors nothing and always saves. Its own class also
    gives it a state key distinct from the best-by-metric ModelCheckpoint beside it (Lightning refuses two
    ModelCheckpoints with equal keys, as when neither monitors anything).

    A step limit (`TrainingStepLimit`) stops a run mid-epoch through `trainer.should_stop`. Saved at the epoch
    end that follows, the checkpoint would say the epoch was through and a resumed run would start a new one;
    saved at that batch's end, as here, Lightning resumes the epoch where it stopped (with `ResumableLoader`,
    on the very next batch), so k steps and then the rest equals one run straight.
    """

    def __init__(self, dirpath: str) -> None:
        super().__init__(dirpath=dirpath, filename="last", monitor=None, save_top_k=1, enable_version_counter=False)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        stopping_mid_epoch = trainer.should_stop and batch_idx + 1 < trainer.num_training_batches
        if stopping_mid_epoch and not self._should_skip_saving_checkpoint(trainer):
            # Records the global step saved, so the epoch-end save that follows skips this step.
            self._save_checkpoint(trainer, self.format_checkpoint_name({}))


class BestCheckpoint(RunCheckpoint):
    """The best checkpoint by `monitor`, kept when the run measures it; else last.ckpt alone, without complaint.

    A run that cannot measure its main metric (no classifier for unlabelled images, `fast_dev_run` without a
    built classifier) has already said so at its start; Lightning's own ModelCheckpoint would warn again that the
    key is missing from the logged metrics.
    """

    def _save_topk_checkpoint(self, trainer, monitor_candidates: dict) -> None:
        if self.monitor is not None and self.monitor not in monitor_candidates:
            return
        super()._save_topk_checkpoint(trainer, monitor_candidates)
