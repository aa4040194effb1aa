"""The whole run's time in words: the estimate line (with trainer=gpu when a CPU run takes hours) and durations."""

from gan.callbacks.progress import duration, estimate_line


def test_the_estimate_says_hours_on_the_cpu_and_the_gpu_alternative():
    line, slow = estimate_line(total=6000, done=0, rate=0.5, device="cpu")
    assert slow and line == "this run: ~3 h 20 min on this CPU (6,000 steps at 0.5 steps/s); on a GPU: add trainer=gpu"
    line, slow = estimate_line(total=6000, done=0, rate=0.5, device="cuda")
    assert not slow and line == "this run: ~3 h 20 min on this CUDA (6,000 steps at 0.5 steps/s)"
    line, slow = estimate_line(total=6000, done=5000, rate=2.0, device="cpu")  # a resumed run: what is left
    assert not slow and line == "this run: ~8 min on this CPU (1,000 steps at 2 steps/s)"
    assert "no step or epoch limit" in estimate_line(float("inf"), 0, 3.0, "cpu")[0]
    assert [duration(s) for s in (0.2, 40, 90, 3600, 3 * 3600 + 600)] == ["1 s", "40 s", "2 min", "1 h", "3 h 10 min"]
