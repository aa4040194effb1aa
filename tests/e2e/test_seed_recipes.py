"""The "as written" experiments train the same numbers as before the loss family (to within what float32 rounding
on another CPU changes).

The snapshots in tests/snapshots/ were recorded by `python -m tests.seed_recipes` at commit 428f428, before
`model.loss` grew into the loss family.
"""

import pytest
import torch
import yaml

from tests.seed_recipes import SNAPSHOTS, TRAJECTORIES, first_steps

# How close a step's figures must stay to the recorded ones. float32 sums run in another order on another CPU
# (its vector width), so the same recipe there differs in the 7th digit (relative ~1e-7 after 3 steps); a changed
# constant moves them far more (a 1 % learning-rate change: ~1e-3, see the test below).
STEP_RTOL, STEP_ATOL = 1e-5, 1e-7


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
