"""Run folders' parts on their own: the printed resume command parses in bash and Hydra, a checkpoint that needs
code is refused without advice to run it, and the checkpoint callbacks follow a moved run folder."""

import shlex
import warnings

import numpy as np
import pytest
import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from gan.resume import resume_command

# A folder name with a space and an accented letter: Hydra's lexer takes neither unquoted.
AWKWARD = "my runs/été 1"


@pytest.mark.parametrize("path", [f"/tmp/{AWKWARD}", "/tmp/it's", '/tmp/a"b', "/tmp/back\\slash\\", "/tmp/${x}/y",
                                  "/tmp/a,b=c~d", "/tmp/plain-path_1.0"])
def test_the_printed_resume_command_parses_in_bash_and_hydra(path):
    words = shlex.split(resume_command(path))
    assert words[:3] == ["python", "-m", "gan.run"] and len(words) == 4
    value = OverridesParser.create().parse_override(words[3]).value()
    assert OmegaConf.create({"resume": value}).resume == path  # as the composed config holds it


def test_a_checkpoint_that_needs_code_gives_no_advice_to_run_it(tmp_path):
    from gan.checkpoint import read_checkpoint
    from gan.errors import DataError

    path = tmp_path / "bad.ckpt"
    torch.save({"state_dict": {}, "payload": np.float64(1.0)}, path)  # numpy's unpickler: not weights-only data
    with pytest.raises(DataError) as error:
        read_checkpoint(path)
    message = str(error.value)
    assert message.startswith(f"cannot read checkpoint {path} (it holds pickled objects") and "\n" not in message
    assert "weights_only" not in message and "can still be loaded" not in message and "\x1b" not in message


def test_checkpoint_callbacks_follow_a_moved_run_folder(tmp_path):
    from gan.callbacks.checkpoints import BestCheckpoint

    old, new = "/elsewhere/run/checkpoints", tmp_path / "run" / "checkpoints"
    best = BestCheckpoint(dirpath=str(new), monitor="val/w1", filename="best-{epoch:03d}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Lightning's "dirpath has changed" would be raised here
        best.load_state_dict({"dirpath": old, "best_model_path": f"{old}/best-002.ckpt",
                              "best_model_score": torch.tensor(0.5), "last_model_path": "",
                              "kth_best_model_path": f"{old}/best-002.ckpt", "kth_value": torch.tensor(0.5),
                              "best_k_models": {f"{old}/best-002.ckpt": torch.tensor(0.5)}})
    assert best.best_model_path == best.kth_best_model_path == f"{new}/best-002.ckpt"
    assert list(best.best_k_models) == [f"{new}/best-002.ckpt"] and best.best_model_score == 0.5
