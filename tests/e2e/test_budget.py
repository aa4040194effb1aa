"""gan.callbacks.budget.Progress: scoring along a run on the CPU clock (benchmarks/mnist_quality.py uses it)."""

import pytest

from gan.callbacks.budget import Progress
from gan.run import train


@pytest.mark.parametrize("at_end", [True, False])
def test_progress_scores_the_end_of_a_run_that_stops_on_its_step_limit(make_cfg, at_end):
    """A run whose trainer.max_steps ends it before the CPU budget is scored at its last step only with at_end."""
    node = "+callbacks.clock"
    train(make_cfg("logger=none", "trainer.max_steps=4", "data.sample_size=50", "model.eval_samples=100",
                   f"{node}._target_=gan.callbacks.budget.Progress", f"{node}._recursive_=false",
                   f"{node}.data=${{data}}", f"{node}.cache_dir=${{paths.cache_dir}}", f"{node}.seconds=1e6",
                   f"{node}.samples=100",
                   f"{node}.at_start=true", f"{node}.at_epoch_end=false", f"{node}.at_end={at_end}"))
    rows = Progress.last.rows
    assert [row["when"] for row in rows] == (["start", "end"] if at_end else ["start"])
    assert rows[-1]["steps"] == (4 if at_end else 0) and rows[-1]["cpu_s"] >= 0
