"""The 2-D mixtures (ring, grid) and packing, run end to end."""

import json

import numpy as np
import pytest
import torch

from gan.errors import ConfigError
from gan.run import train
from gan.sampling import sample


@pytest.mark.parametrize("overrides", [["data=ring"], ["data=grid"], ["data=ring", "model.pack=2"]])
def test_fast_dev_run(make_cfg, tmp_path, overrides):
    metrics = train(make_cfg("model=mixture", *overrides, "trainer.fast_dev_run=true"))
    assert np.isfinite(metrics["train/d_loss"]) and np.isfinite(metrics["train/g_loss"])
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("modes", "high_quality", "reverse_kl"):
        assert np.isfinite(saved[key]), key


def test_short_run_logs_metrics_writes_scatter_and_samples(make_cfg, tmp_path):
    cfg = make_cfg("model=mixture", "data=grid", "trainer.max_epochs=1", "data.steps_per_epoch=20", "model.pack=2",
                   "model.drs_steps=50")
    metrics = train(cfg)
    run = tmp_path / "run"
    assert (run / "scatter.png").is_file() and (run / "scatter_raw.png").is_file()  # the kept points and G's own
    assert list(run.glob("events.out.tfevents.*"))
    assert {"val/modes", "val/high_quality", "val/reverse_kl"} <= set(metrics)
    written = sample(run, n=50, out=tmp_path / "sampled")
    lines = (tmp_path / "sampled" / "samples.csv").read_text().splitlines()
    assert lines[0] == "x,y" and len(lines) == 51
    assert {p.name for p in written} == {"samples.csv", "scatter.png", "scatter_raw.png"}


def test_packed_mlp_run_on_mnist(make_cfg):
    cfg = make_cfg("model=vanilla", "data=mnist", "model.pack=2", "trainer.fast_dev_run=true", "logger=none")
    metrics = train(cfg)
    assert np.isfinite(metrics["train/d_loss"]) and np.isfinite(metrics["train/g_loss"])


def test_packed_dcgan_run_on_an_image_folder(make_cfg, tmp_path):
    from tests.e2e.test_dcgan import NARROW
    from tests.unit.test_dcgan import make_image_folder

    root = make_image_folder(tmp_path / "imgs")
    cfg = make_cfg(*NARROW, "data=image_folder", f"data.root={root}", "data.image_size=32", "data.batch_size=4",
                   "model.pack=2", "trainer.fast_dev_run=true")
    metrics = train(cfg)
    assert np.isfinite(metrics["train/d_loss"]) and np.isfinite(metrics["train/g_loss"])


def test_an_unknown_layout_is_one_clear_error(make_cfg):
    with pytest.raises(ConfigError, match="data.layout='spiral' is not one of: ring, grid"):
        train(make_cfg("model=mixture", "data=ring", "data.layout=spiral"))


def test_drs_run_reports_raw_figures_and_sample_draws_what_was_measured(make_cfg, tmp_path, capsys):
    from gan.checkpoint import load_model

    cfg = make_cfg("model=mixture", "data=ring", "model.sampling=drs", "model.drs_steps=20", "trainer.max_epochs=1",
                   "data.steps_per_epoch=10", "logger=none")
    train(cfg)
    # the critic's fit, after G's last step, is announced: the last epoch's line includes its seconds
    assert "Fitting the rejection sampler's critic to G's final draws (20 updates)" in capsys.readouterr().out
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("modes", "high_quality", "reverse_kl", "modes_raw", "high_quality_raw", "reverse_kl_raw"):
        assert np.isfinite(saved[key]), key
    assert 0 < saved["drs_acceptance"] <= 1
    model, _ = load_model(tmp_path / "run")
    assert model.rejecting  # the fitted critic came back with the checkpoint
    assert model.evaluate() == pytest.approx({k: saved[k] for k in model.evaluate()})
    assert not torch.equal(model.draw(100, seed=3), model.draw(100, seed=3, raw=True))
    written = sample(tmp_path / "run", n=40, out=tmp_path / "sampled", seed=3)
    rows = (tmp_path / "sampled" / "samples.csv").read_text().splitlines()[1:]
    drawn = model.draw(40, seed=3).double()
    assert torch.allclose(torch.tensor([[float(v) for v in r.split(",")] for r in rows], dtype=torch.float64),
                          drawn, atol=1e-6) and len(written) == 3
