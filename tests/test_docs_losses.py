"""Every command and the error shown in docs/losses.md, exercised as written (fast_dev_run, in process)."""

import re
import shlex

import pytest

from tests.conftest import REPO
from tests.seed_recipes import tiny_image_folder
from tests.test_workflow import run_main

DOC = (REPO / "docs" / "losses.md").read_text()
COMMANDS = [re.sub(r"\s+#.*$", "", line).strip()
            for block in re.findall(r"```bash\n(.*?)```", DOC, flags=re.S) for line in block.splitlines() if line.strip()]
NARROW_DCGAN = ["data.image_size=32", "model.generator.width=4", "model.discriminator.width=4"]


@pytest.mark.slow  # 7 runs, 5 of them decoding the real MNIST; the same paths run on tiny data in test_game_loop.py
@pytest.mark.parametrize("command", COMMANDS)
def test_doc_command_runs(command, monkeypatch, tmp_path):
    overrides = shlex.split(command)[3:]
    assert shlex.split(command)[:3] == ["python", "-m", "gan.run"]
    if "model=dcgan" in overrides:  # no image folder ships with the repo: a tiny one, at a small size and width
        overrides += [f"data.root={tiny_image_folder(tmp_path / 'images')}", *NARROW_DCGAN]
    run_main(monkeypatch, *overrides, "trainer.fast_dev_run=true", "logger=none", f"paths.output_dir={tmp_path / 'run'}",
             f"paths.cache_dir={tmp_path / 'cache'}")  # no classifier another run left: no FID in a smoke run
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_doc_error_is_what_the_run_prints(monkeypatch, tmp_path):
    command, message = re.search(r"\$ (python -m gan\.run .*)\n(error: .*)\n", DOC).groups()
    tiny_image_folder(tmp_path / "tomjerry", n=2)  # the frames are there: missing data is reported first otherwise
    with pytest.raises(SystemExit) as stop:
        run_main(monkeypatch, *shlex.split(command)[3:], f"paths.data_dir={tmp_path}", f"paths.output_dir={tmp_path / 'run'}")
    assert str(stop.value) == message
