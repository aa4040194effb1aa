"""last.ckpt follows the run even when the monitored metric stops improving."""

import torch

from gan.run import train


def test_last_checkpoint_is_refreshed_every_epoch(make_cfg, tmp_path):
    # val/target_mean is a constant 4.0: it "improves" once, so only the first epoch is ever the best.
    cfg = make_cfg("trainer.max_epochs=3", "data.steps_per_epoch=5", "logger=none", "model.monitor=val/target_mean")
    train(cfg)
    checkpoints = tmp_path / "run" / "checkpoints"
    last = torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["epoch"] == 2 and last["global_step"] == 3 * 5 * (cfg.model.d_steps + cfg.model.g_steps)
    (best,) = checkpoints.glob("best-*.ckpt")
    assert best.name == "best-000.ckpt"
