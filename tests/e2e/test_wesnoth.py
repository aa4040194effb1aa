"""A short conditional training run on a few real Wesnoth portraits (../shared/data/wesnoth) and `gan.sample` of
its result (skipped when the folder is absent)."""

import pytest
import torch
from omegaconf import OmegaConf

from gan.run import train
from tests.conftest import compose_config
from tests.unit import test_wesnoth as unit_half

# The unit half's skip mark and fixture, here too (pytest reads both from the module's attributes).
pytestmark = unit_half.pytestmark
few_portraits = unit_half.few_portraits


@pytest.mark.slow
def test_a_conditional_dcgan_trains_on_real_portraits_and_samples_each_class(few_portraits, tmp_path):
    from gan.sample import main as sample_main

    run_dir = tmp_path / "run"
    cfg = compose_config(["experiment=cdcgan", "data=image_folder", f"data.root={few_portraits}", "data.labels=folders",
                          "data.image_size=32", "data.batch_size=4", "model.generator.width=4",
                          "model.discriminator.width=4", "model.eval_samples=4", "trainer.max_steps=4",
                          "logger=csv"], run_dir)
    assert cfg.data.num_classes is None  # not given: counted from the 3 faction folders
    metrics = train(cfg)
    assert all(torch.isfinite(torch.tensor(value)) for key, value in metrics.items() if key.startswith("train/"))
    assert OmegaConf.load(run_dir / ".hydra" / "config.yaml").data.num_classes == 3  # the saved recipe says so
    sample_main([str(run_dir), "--per-class", "2", "--out", str(tmp_path / "sampled")])
    samples = torch.load(tmp_path / "sampled" / "samples.pt")
    assert samples.shape == (6, 3, 32, 32) and samples.isfinite().all()
    assert torch.load(tmp_path / "sampled" / "labels.pt").tolist() == [0, 0, 1, 1, 2, 2]
    assert (tmp_path / "sampled" / "grid.png").is_file()
