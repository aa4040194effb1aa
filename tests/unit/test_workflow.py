"""The sweep summary's order (gan.callbacks.sweep.rank_jobs): best first, missing and NaN figures last."""

from gan.callbacks.sweep import rank_jobs


def test_rank_jobs_puts_missing_and_nan_last():
    rows = [{"job": "a", "m": 0.5}, {"job": "b"}, {"job": "c", "m": 0.1}, {"job": "d", "m": float("nan")}]
    assert [r["job"] for r in rank_jobs(rows, "m", "min")] == ["c", "a", "b", "d"]
    assert [r["job"] for r in rank_jobs(rows, "m", "max")] == ["a", "c", "b", "d"]
