"""`threads=auto` in a run: the default run trains on one thread and sets the count back afterwards."""

import torch

import gan.run
from gan.run import train
from tests.unit import test_threads as unit_half

# The unit half's fixture, for the tests here too (pytest finds a fixture among the module's attributes).
threads_kept = unit_half.threads_kept


def test_the_default_run_trains_on_one_thread_and_sets_the_count_back(make_cfg, threads_kept, monkeypatch):
    seen = []
    fit = gan.run._fit
    monkeypatch.setattr(gan.run, "_fit", lambda *a: seen.append(torch.get_num_threads()) or fit(*a))
    torch.set_num_threads(2)
    train(make_cfg("trainer.max_steps=2", "logger=none", "model.eval_samples=100"))
    assert seen == [1]
    assert torch.get_num_threads() == 2  # a sweep's next job, or the next test, gets the count it had
