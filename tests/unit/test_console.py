"""In a terminal Lightning's live bar stays; output to a file or a pipe gets one plain line per epoch instead."""

import io
import os
import sys
from types import SimpleNamespace

from pytorch_lightning.callbacks import RichProgressBar

from gan.callbacks.progress import EpochLines, redraws_in_place

# Variables by which rich (so Lightning's bar) takes any output for a terminal; a test of the plain case unsets them.
FORCE_TERMINAL = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def test_in_a_terminal_lightnings_bar_stays(monkeypatch):
    for name in FORCE_TERMINAL:
        monkeypatch.delenv(name, raising=False)
    primary, replica = os.openpty()
    try:
        with open(replica, "w", closefd=False) as terminal:
            monkeypatch.setattr(sys, "stdout", terminal)
            assert redraws_in_place()
            bar, lines = RichProgressBar(), EpochLines()
            lines.setup(SimpleNamespace(progress_bar_callback=bar, callbacks=[]), None, "fit")
            assert bar.is_enabled and not lines.active
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        assert not redraws_in_place()
        lines.setup(SimpleNamespace(progress_bar_callback=bar, callbacks=[]), None, "fit")
        assert bar.is_disabled and lines.active
        lines.setup(SimpleNamespace(progress_bar_callback=None, callbacks=[]), None, "fit")  # trainer.enable_progress_bar=false
        assert not lines.active
    finally:
        os.close(primary)
        os.close(replica)
