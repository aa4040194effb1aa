"""Shared fixtures: compose the real Hydra config with test overrides (CPU, temp outputs, no downloads)."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
SHARED_DATA = REPO.parent / "shared" / "data"  # real MNIST, read-only (see ../shared/data/README.md)


def compose_config(overrides: list[str], output_dir: Path, data_dir: Path = SHARED_DATA) -> DictConfig:
    """The config `python -m gan.run <overrides>` would build, writing into `output_dir`."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                f"paths.output_dir={output_dir}",
                f"paths.data_dir={data_dir}",
                f"paths.cache_dir={Path(output_dir).parent / 'cache'}",  # never a classifier another run left behind
                *overrides,
            ],
            return_hydra_config=True,
        )
    HydraConfig().set_config(cfg)  # lets ${hydra:...} resolve as in a real run
    with open_dict(cfg):
        cfg.trainer.enable_progress_bar = False
    return cfg


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """GAN_CACHE_DIR per test, for whatever composes paths.cache_dir itself (subprocesses, Hydra's main):
    no test writes into the user's ~/.cache/gan or reads a classifier another test left there."""
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def make_cfg(tmp_path):
    """make_cfg("model=vanilla", "data=mnist", ...) -> composed config writing under tmp_path."""

    def _make(*overrides: str, output_dir: Path | None = None, data_dir: Path = SHARED_DATA) -> DictConfig:
        return compose_config(list(overrides), output_dir or tmp_path / "run", data_dir)

    yield _make
    GlobalHydra.instance().clear()


def config_options(group: str) -> list[str]:
    """Every option of a config group, by file name; not the bases other options start from (`_gan`, the trainers'
    `default`)."""
    return sorted(p.stem for p in (CONF / group).glob("*.yaml")
                  if not p.stem.startswith("_") and (p.stem != "default" or group != "trainer"))


def one_line_error(main, argv: list[str]) -> str:
    """The message a command-line `main(argv)` stops with, checked to be one `error: ...` line."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    message = str(stop.value)
    assert message.startswith("error: ") and "\n" not in message, message
    return message
