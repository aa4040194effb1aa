"""Every option of every config group, and every experiment, composes and builds.

Data options are built against an empty data folder: a DataModule may look at files only in setup().
"""

import importlib.util

import hydra
import pytest
import pytorch_lightning as pl
from omegaconf import OmegaConf, open_dict

from gan.run import _instantiate_all
from tests.conftest import config_options

# A data set each model fits (shapes come from the data); models not listed are tried with image data.
DATA_FOR_MODEL = {"gaussian": "gaussian", "mixture": "ring", "vanilla": "mnist", "dcgan": "image_folder"}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package (hydra_plugins) is missing
        return False


def build(cfg) -> dict:
    """Instantiate what train() instantiates, without fitting; the trainer only where it can exist here."""
    built = {
        "data": hydra.utils.instantiate(cfg.data, _convert_="all"),
        "model": hydra.utils.instantiate(cfg.model, _convert_="all"),
        "callbacks": _instantiate_all(cfg.callbacks),
        "logger": _instantiate_all(cfg.get("logger")),
    }
    if cfg.trainer.accelerator == "cpu":
        built["trainer"] = hydra.utils.instantiate(cfg.trainer, callbacks=built["callbacks"], logger=False)
    return built


@pytest.mark.parametrize("model", config_options("model"))
def test_every_model_builds(make_cfg, tmp_path, model):
    built = build(make_cfg(f"model={model}", f"data={DATA_FOR_MODEL.get(model, 'mnist')}", data_dir=tmp_path))
    assert built["model"].hparams.d_steps >= 1


@pytest.mark.parametrize("data", config_options("data"))
def test_every_data_option_builds_without_touching_files(make_cfg, tmp_path, data):
    cfg = make_cfg(f"data={data}", data_dir=tmp_path / "empty")  # nothing there: setup() would complain
    hydra.utils.instantiate(cfg.data, _convert_="all")
    assert not (tmp_path / "empty").exists()


@pytest.mark.parametrize("experiment", config_options("experiment"))
def test_every_experiment_builds(make_cfg, tmp_path, experiment):
    cfg = make_cfg(f"experiment={experiment}", data_dir=tmp_path)
    built = build(cfg)
    assert f"{type(built['model']).__module__}.{type(built['model']).__name__}" == cfg.model._target_
    assert isinstance(built["trainer"], pl.Trainer)
    assert {type(c) for c in built["callbacks"]} <= {type(c) for c in built["trainer"].callbacks}


@pytest.mark.parametrize("group", ["logger", "callbacks", "paths"])
def test_every_option_of_the_small_groups_builds(make_cfg, tmp_path, group):
    for option in config_options(group):
        cfg = make_cfg(f"{group}={option}", data_dir=tmp_path)
        built = build(cfg)
        # every listed callback and logger becomes one object of its kind
        assert len(built["callbacks"]) == sum(node is not None for node in cfg.callbacks.values())
        assert all(isinstance(c, pl.Callback) for c in built["callbacks"])
        assert len(built["logger"]) == sum(node is not None for node in (cfg.get("logger") or {}).values())
        assert all(isinstance(logger, pl.loggers.Logger) for logger in built["logger"])


@pytest.mark.parametrize("optimizer", config_options("optimizer"))
def test_every_optimizer_option_builds(make_cfg, tmp_path, optimizer):
    model = build(make_cfg(f"optimizer@model.d_optimizer={optimizer}", data_dir=tmp_path))["model"]
    # (d_opt, g_opt); an option is named for its class, with a variant after "_" (adam_beta0)
    assert type(model.configure_optimizers()[0]).__name__.lower() == optimizer.split("_")[0]


@pytest.mark.parametrize("trainer", config_options("trainer"))
def test_every_trainer_option_composes(make_cfg, trainer):
    cfg = make_cfg(f"trainer={trainer}")
    expected = {"cpu": "cpu", "cpu_bf16": "cpu", "ddp_cpu": "cpu"}.get(trainer, "gpu")
    assert cfg.trainer.accelerator == expected
    if "ddp" in trainer or trainer == "slurm":
        assert "find_unused_parameters_true" in cfg.trainer.strategy  # see conf/trainer/ddp.yaml
    if trainer == "slurm":
        (environment,) = hydra.utils.instantiate(cfg.trainer.plugins)
        assert environment.auto_requeue
    if expected == "cpu":
        build(cfg)


@pytest.mark.skipif(not installed("hydra_plugins.hydra_optuna_sweeper"),
                    reason="the optional `optuna` extra is not installed")
def test_optuna_search_composes(make_cfg):
    cfg = make_cfg("hparams_search=gaussian_optuna")
    assert set(cfg.hydra.sweeper.params) == {"model.g_lr", "model.d_lr"}
    assert cfg.hydra.sweeper.direction == "minimize" and cfg.model.monitor_mode == "min"


@pytest.mark.skipif(not installed("hydra_plugins.hydra_submitit_launcher"),
                    reason="the optional `slurm` extra is not installed")
def test_slurm_launcher_composes(make_cfg):
    cfg = make_cfg("hydra/launcher=slurm", "trainer=slurm")
    assert cfg.hydra.launcher.nodes == cfg.trainer.num_nodes


@pytest.mark.parametrize("model", config_options("model"))
def test_every_model_states_every_loop_and_game_key(make_cfg, tmp_path, model):
    """conf/model/_gan.yaml holds the loop's keys once, so no model drifts to the code's defaults unseen."""
    import inspect

    from gan.models.gan import GAN

    optional = [name for name, p in inspect.signature(GAN.__init__).parameters.items()
                if p.default is not inspect.Parameter.empty and name not in ("num_classes", "conditional")]
    cfg = make_cfg(f"model={model}", f"data={DATA_FOR_MODEL.get(model, 'mnist')}", data_dir=tmp_path)
    assert [name for name in optional if name not in cfg.model] == []


@pytest.mark.parametrize("model", config_options("model"))
def test_how_images_are_judged_is_the_eval_group_and_only_image_models_read_it(make_cfg, tmp_path, model):
    """conf/eval holds the evaluator's settings; every image model reads that group as model.evaluation (so an
    eval.* override reaches it) and restates none of it; the Gaussian and the mixtures have figures of their own."""
    from hydra.utils import get_class

    from gan.models.image import ImageGAN
    from gan.validate.options import EVALUATOR_KEYS

    cfg = make_cfg(f"model={model}", f"data={DATA_FOR_MODEL.get(model, 'mnist')}", "eval.nearest_k=3",
                   data_dir=tmp_path)
    assert set(EVALUATOR_KEYS) | {"inception"} == set(cfg.eval)
    if not issubclass(get_class(cfg.model._target_), ImageGAN):
        assert "evaluation" not in cfg.model
        return
    assert OmegaConf.to_container(cfg.model.evaluation, resolve=True) == OmegaConf.to_container(cfg.eval, resolve=True)
    assert cfg.model.evaluation.nearest_k == 3
    assert set(cfg.model) & (set(EVALUATOR_KEYS) | {"inception_weights"}) == set()


# What each variant shows comes with its model config (conf/callbacks/variant/); no callback asks what a model draws.
OWN_MONITORS = {"gaussian": {"gaussian_monitor"}, "mixture": {"mixture_monitor"}}
ALL_MONITORS = {"gaussian_monitor", "mixture_monitor", "sample_grid", "sample_quality"}


@pytest.mark.parametrize("model", config_options("model"))
def test_each_model_brings_its_own_monitors_and_no_others(make_cfg, tmp_path, model):
    cfg = make_cfg(f"model={model}", f"data={DATA_FOR_MODEL.get(model, 'mnist')}", data_dir=tmp_path)
    assert set(cfg.callbacks) & ALL_MONITORS == OWN_MONITORS.get(model, {"sample_grid", "sample_quality"})
    assert {"last_checkpoint", "model_checkpoint", "graceful_stop", "run_time"} <= set(cfg.callbacks)


def test_a_run_saved_with_every_monitor_resumes_with_its_own(make_cfg, tmp_path):
    """Run folders saved before the split hold every variant's monitors: a resume keeps the run's own."""
    from omegaconf import OmegaConf

    from gan.resume import _keep_own_monitors

    every = {}
    for m, d in (("gaussian", "gaussian"), ("mixture", "ring"), ("vanilla", "mnist")):
        every.update(OmegaConf.to_container(make_cfg(f"model={m}", f"data={d}", data_dir=tmp_path).callbacks))
    for model, data in (("gaussian", "gaussian"), ("mixture", "ring"), ("dcgan", "image_folder"), ("cgan", "mnist")):
        recipe = make_cfg(f"model={model}", f"data={data}", data_dir=tmp_path)
        with open_dict(recipe):
            recipe.callbacks = {**every, **OmegaConf.to_container(recipe.callbacks)}
        _keep_own_monitors(recipe)
        assert set(recipe.callbacks) & ALL_MONITORS == OWN_MONITORS.get(model, {"sample_grid", "sample_quality"})
        assert len(build(recipe)["callbacks"]) == len(recipe.callbacks)


def test_a_run_saved_with_the_evaluator_in_the_model_reads_it_as_the_eval_group(make_cfg, tmp_path):
    """Run folders saved when the evaluator's settings were model.* keys (resolved, as gan.run saves) are read by
    resume= and gan.evaluate with those settings as the `eval` group and the model's copy of it."""
    from omegaconf import OmegaConf

    from gan.resume import upgrade_saved

    cfg = make_cfg("model=vanilla", "data=mnist", "eval.nearest_k=3", "eval.kid_subsets=4", data_dir=tmp_path)
    recipe = OmegaConf.create(OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]),
                                                     resolve=True))
    with open_dict(recipe):  # as earlier versions saved it: the keys in the model, eval.inception alone
        old = recipe.model.pop("evaluation")
        recipe.model.update({k: v for k, v in old.items() if k != "inception"}, inception_weights=None)
        recipe.eval = {"inception": None}
    upgrade_saved(recipe)
    assert recipe.model.evaluation == old and recipe.eval == old
    assert not {"feature_extractor", "nearest_k", "inception_weights"} & set(recipe.model)
    model = build(recipe)["model"]
    assert model.evaluator(recipe.data, build=False).nearest_k == 3
