"""Every training command in docs/conditional.md, exercised as written (fast_dev_run, narrow nets, in process)."""

import re
import shlex

import pytest

from tests.conftest import REPO, SHARED_DATA
from tests.test_conditional import make_class_folders
from tests.test_workflow import run_main

DOC = (REPO / "docs" / "conditional.md").read_text()
COMMANDS = [re.sub(r"\s+#.*$", "", line).strip()
            for block in re.findall(r"```bash\n(.*?)```", DOC, flags=re.S) for line in block.splitlines() if line.strip()]
NARROW_MLP = ["model.generator.hidden_sizes=[8]", "model.discriminator.hidden_sizes=[8]"]
NARROW_DCGAN = ["model.generator.width=4", "model.discriminator.width=4", "data.batch_size=4"]
NARROW_INFOGAN = ["model.generator.width=4", "model.generator.hidden=8", "model.discriminator.width=4",
                  "model.discriminator.hidden=8", "model.discriminator.q_hidden=8", "data.batch_size=4"]


@pytest.mark.parametrize("command", COMMANDS)
def test_doc_command_runs(command, monkeypatch, tmp_path):
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "gan.run"]
    if "/path/to/classes" in command:  # no folder of classes ships with the repo: a small one made here
        command = command.replace("/path/to/classes", str(make_class_folders(tmp_path / "classes")))
    overrides = shlex.split(command)[3:]
    dcgan = "model=dcgan" in overrides or "experiment=cdcgan" in overrides  # cdcgan: the conditional DCGAN recipe
    overrides += NARROW_DCGAN if dcgan else NARROW_INFOGAN if "model=infogan" in overrides else NARROW_MLP
    data_dir = SHARED_DATA if (SHARED_DATA / "MNIST").is_dir() else None
    if "data=fashion_mnist" in overrides and not (SHARED_DATA / "FashionMNIST" / "raw").is_dir():
        pytest.skip("FashionMNIST is not in ../shared/data")
    run_main(monkeypatch, *overrides, "trainer.fast_dev_run=true", "logger=none", f"paths.output_dir={tmp_path / 'run'}",
             f"paths.cache_dir={tmp_path / 'cache'}", *([f"paths.data_dir={data_dir}"] if data_dir else []))
    assert (tmp_path / "run" / "metrics.json").is_file()
