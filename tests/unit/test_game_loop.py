"""The one loop's parts with the loss family: D's slices of a batch, the regularisers' config errors, and the status
lines, sample grids and seeded noise a model gives."""

from types import SimpleNamespace

import hydra
import pytest
import torch
from hydra.errors import HydraException

from gan.callbacks import describe_discriminator
from gan.callbacks.images import SampleGrid
from gan.errors import ConfigError
from gan.models.gan import GAN
from gan.networks.mlp import MLPDiscriminator, MLPGenerator
from gan.sampling import seeded_noise

GAUSSIAN_TINY = ["data.sample_size=20", "data.sets_per_update=2", "model.eval_samples=50", "logger=none"]


@pytest.mark.parametrize("batch, d_steps, sizes", [(100, 11, [10] + [9] * 10), (6, 3, [2, 2, 2])])
def test_split_gives_exactly_d_steps_slices(make_cfg, batch, d_steps, sizes):
    model = hydra.utils.instantiate(make_cfg(*GAUSSIAN_TINY, f"model.d_steps={d_steps}").model, _convert_="all")
    slices = model._split(torch.arange(batch))
    assert [len(s) for s in slices] == sizes and torch.equal(torch.cat(slices), torch.arange(batch))  # chunk gave 10


def test_a_batch_smaller_than_d_steps_is_refused(make_cfg):
    model = hydra.utils.instantiate(make_cfg(*GAUSSIAN_TINY, "model.d_steps=5").model, _convert_="all")
    with pytest.raises(ConfigError, match="a batch of 3 cannot feed model.d_steps=5"):
        model._split(torch.zeros(3, 20))


def _config_error(cfg) -> str:
    """The ConfigError building the model raises (Hydra wraps it; `gan.run` prints the cause alone)."""
    with pytest.raises(HydraException) as raised:
        hydra.utils.instantiate(cfg.model, _convert_="all")
    assert isinstance(raised.value.__cause__, ConfigError)
    return str(raised.value.__cause__)


def test_augment_on_numbers_is_refused(make_cfg):
    assert "DiffAugment transforms images" in _config_error(make_cfg("model.augment=translation"))


def test_penalty_on_the_seed_dcgan_critic_names_the_fix(make_cfg, tmp_path):
    cfg = make_cfg("model=dcgan", "data=image_folder", "model.gradient_penalty=10", data_dir=tmp_path)
    assert "set model.discriminator.norm=none" in _config_error(cfg)
    cfg = make_cfg("model=dcgan", "data=image_folder", "model.gradient_penalty=10", "model.discriminator.norm=layer",
                   data_dir=tmp_path)
    assert hydra.utils.instantiate(cfg.model, _convert_="all").loss.gp_weight == 10


@pytest.mark.parametrize("override", ["model.augment=[translation,cutout]", 'model.augment="translation,cutout"'])
def test_augment_list_and_quoted_string_give_one_policy(make_cfg, tmp_path, override):
    model = hydra.utils.instantiate(make_cfg("model=vanilla", "data=mnist", override, data_dir=tmp_path).model,
                                    _convert_="all")
    assert model.loss.augment.policy == ("translation", "cutout")


# ---- what callbacks and gan.sample ask the model ----------------------------------------------------
def test_status_lines_show_what_the_loss_means():
    probabilities = {"train/d_real": torch.tensor(0.7), "train/d_fake": torch.tensor(0.2)}
    assert describe_discriminator(probabilities) == "D(x): 0.7000, D(G(z)): 0.2000"
    critic = {"train/score_real": torch.tensor(1.5), "train/score_fake": torch.tensor(-0.5),
              "train/wasserstein": torch.tensor(2.0)}
    assert describe_discriminator(critic) == "score(x): 1.5000, score(G(z)): -0.5000, W estimate: 2.0000"


class _NewImageVariant(GAN):
    """A variant the callbacks have never heard of: it only says that it draws images."""

    sample_kind = "images"


def test_a_new_variant_gets_sample_grids_without_a_callback_edit(tmp_path):
    model = _NewImageVariant(MLPGenerator(4, 1, 8, [8]), MLPDiscriminator(1, 8, [8]), torch.optim.Adam, torch.optim.Adam,
                             g_lr=1e-3, d_lr=1e-3, latent_shape=[4], num_fixed=4)
    trainer = SimpleNamespace(default_root_dir=str(tmp_path), loggers=[])
    path = SampleGrid(num_samples=4, nrow=2).save(trainer, model, index=1, tb_step=0)
    assert path.is_file()


def test_noise_is_drawn_in_one_place_and_seeded_as_before(make_cfg):
    model = hydra.utils.instantiate(make_cfg(*GAUSSIAN_TINY).model, _convert_="all")
    before = torch.rand((3, *model.hparams.latent_shape), generator=torch.Generator().manual_seed(5))  # the old seeded_noise
    torch.testing.assert_close(seeded_noise(model, 3, 5), before, rtol=0, atol=0)
    draws = model.draw(7, seed=2)
    old_draw = model.generate(noise=torch.rand((1, 7, 1), generator=torch.Generator().manual_seed(2))).flatten()
    torch.testing.assert_close(draws, old_draw, rtol=0, atol=0)


def test_models_do_not_import_callbacks():
    """Callbacks act on models; a model never needs the callbacks package (no import cycle between them)."""
    import subprocess
    import sys

    code = ("import sys, gan.models.gan, gan.models.mixture, gan.models.schedule; "
            "print(sorted(m for m in sys.modules if m.startswith('gan.callbacks')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
