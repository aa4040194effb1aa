"""The "as written" experiments resolve to the recipe they resolved to before the loss family, and train the same
numbers (to within what float32 rounding on another CPU changes).

The snapshots in tests/snapshots/ were recorded by `python -m tests.seed_recipes` at commit 428f428, before
`model.loss` grew into the loss family; keys added since must sit at values that leave the game as it was.
"""

import pytest
import torch
import yaml

from tests.seed_recipes import EXPERIMENTS, SNAPSHOTS, TRAJECTORIES, first_steps, resolved_recipe

# Keys the loss family added, at the value each "as written" recipe must resolve to: every one of them off.
ADDED_OFF = {
    "model.gradient_penalty": 0,
    "model.r1_gamma": 0,
    "model.augment": None,
    "model.discriminator.spectral_norm": False,
    "data.subset": None,
    "data.max_image_pixels": 89478485,  # Pillow's own decompression-bomb limit: the same images load as before
    # How samples are judged, not how they are made: the evaluator's classifier build and PRDC's k.
    "model.feature_build.max_samples": None,
    "model.feature_build.epochs": None,
    "model.feature_build.self_supervised": None,  # a folder's self-supervised features: the defaults
    "model.nearest_k": 5,
    # PacGAN packing and the toy recipes' learning-rate decay, off.
    "model.generator.tails_from": None,  # the Gaussian G is its network alone, as the original's
    "model.pack": 1,
    "model.discriminator.pack": 1,
    "model.lr_decay_start": None,
    "model.ema_warmup": False,  # the code's default, stated in conf/model/_gan.yaml since every model starts from it
    # Conditioning (docs/conditional.md): unconditional, unlabelled.
    "model.conditional": False,
    "model.num_classes": None,
    "model.generator.num_classes": None,
    "model.discriminator.num_classes": None,
    "model.generator.conditioning": "concat",  # how a conditional G reads its label; an unconditional one ignores it
    "data.labels": None,
    "data.num_classes": None,
    "data.background": "white",  # transparent pixels on white, as the loader always composited them
    # Speed (docs/speed.md): the original programs keep two D passes and torch's per-tensor Adam, and are not compiled.
    "model.d_one_pass": False,
    "model.compile": False,
    "model.discriminator.dropout_masks": "bernoulli",  # torch's own dropout masks (nn.Dropout), as the MNIST notebook
    "model.g_optimizer.fused": False,
    "model.d_optimizer.fused": False,
    "trainer.max_time": None,  # a listed key now (Lightning's own default): no wall-clock limit
}


# How close a step's figures must stay to the recorded ones. float32 sums run in another order on another CPU
# (its vector width), so the same recipe there differs in the 7th digit (relative ~1e-7 after 3 steps); a changed
# constant moves them far more (a 1 % learning-rate change: ~1e-3, see the test below).
STEP_RTOL, STEP_ATOL = 1e-5, 1e-7


def _flat(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_seed_experiment_resolves_to_its_recipe(experiment):
    before = _flat(yaml.safe_load((SNAPSHOTS / f"{experiment}.yaml").read_text()))
    now = _flat(resolved_recipe(experiment))
    assert {k: now.get(k, "<missing>") for k in before} == before
    added = {k: v for k, v in now.items() if k not in before}
    unexpected = {k for k in added if k not in ADDED_OFF and k != "model.r1_every" and k != "model.discriminator.norm"}
    assert not unexpected, f"keys new to an \"as written\" recipe: {sorted(unexpected)}; add them to ADDED_OFF, off"
    assert {k: v for k, v in added.items() if k in ADDED_OFF} == {k: ADDED_OFF[k] for k in added if k in ADDED_OFF}
    if "model.discriminator.norm" in added:
        assert added["model.discriminator.norm"] == "batch"  # the original's DCGAN critic keeps its BatchNorm


def assert_same_steps(now: list[dict], recorded: list[dict]) -> None:
    """Each recorded step's figures, within STEP_RTOL of the recorded ones (a missing figure fails)."""
    assert len(now) == len(recorded)
    for step, (row_now, row_before) in enumerate(zip(now, recorded), start=1):
        keys = sorted(row_before)
        torch.testing.assert_close(
            torch.tensor([row_now.get(k, float("nan")) for k in keys], dtype=torch.float64),
            torch.tensor([row_before[k] for k in keys], dtype=torch.float64),
            rtol=STEP_RTOL, atol=STEP_ATOL,
            msg=lambda detail, step=step, keys=keys: f"training step {step} changed ({', '.join(keys)}): {detail}",
        )  # fmt: skip


def _recorded(name: str) -> list[dict]:
    return yaml.safe_load((SNAPSHOTS / "first_steps.yaml").read_text())[name]


@pytest.mark.parametrize("name", sorted(TRAJECTORIES))
def test_first_training_steps_match_the_recorded_ones(name, tmp_path):
    assert_same_steps(first_steps(name, tmp_path / "run"), _recorded(name))


def test_a_one_percent_change_of_a_learning_rate_is_caught(tmp_path):
    # DCGAN's D learning rate 2e-4 -> 2.02e-4: its figures move by up to ~1e-3 relative in 3 steps, 100x STEP_RTOL.
    changed = first_steps("dcgan_tiny", tmp_path / "run", changes=("model.d_lr=2.02e-4",))
    with pytest.raises(AssertionError, match="training step"):
        assert_same_steps(changed, _recorded("dcgan_tiny"))
