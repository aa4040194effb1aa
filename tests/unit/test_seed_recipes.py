"""The "as written" experiments resolve to the recipe they resolved to before the loss family.

The snapshots in tests/snapshots/ were recorded by `python -m tests.seed_recipes` at commit 428f428, before
`model.loss` grew into the loss family; keys added since must sit at values that leave the game as it was.
"""

import pytest
import yaml

from tests.seed_recipes import EXPERIMENTS, SNAPSHOTS, resolved_recipe

# Keys the loss family added, at the value each "as written" recipe must resolve to: every one of them off.
ADDED_OFF = {
    "model.gradient_penalty": 0,
    "model.r1_gamma": 0,
    "model.augment": None,
    "model.discriminator.spectral_norm": False,
    "data.subset": None,
    "data.max_image_pixels": 89478485,  # Pillow's own decompression-bomb limit: the same images load as before
    # How samples are judged, not how they are made: the evaluator's classifier build and PRDC's k.
    "model.evaluation.feature_build.max_samples": None,
    "model.evaluation.feature_build.epochs": None,
    "model.evaluation.feature_build.self_supervised": None,  # a folder's self-supervised features: the defaults
    "model.evaluation.nearest_k": 5,
    # PacGAN packing and the toy recipes' learning-rate decay, off.
    "model.generator.tails_from": None,  # the Gaussian G is its network alone, as the original's
    "model.pack": 1,
    "model.discriminator.pack": 1,
    "model.lr_decay_start": None,
    "model.ema_warmup": False,  # the code's default, stated in conf/model/_gan.yaml since every model starts from it
    # Conditioning (docs/conditional.md): unconditional, unlabelled.
    "model.conditional": False,
    "model.num_classes": None,
    "model.generator.num_classes": None,
    "model.discriminator.num_classes": None,
    "model.generator.conditioning": "concat",  # how a conditional G reads its label; an unconditional one ignores it
    "data.labels": None,
    "data.num_classes": None,
    "data.background": "white",  # transparent pixels on white, as the loader always composited them
    # Speed (docs/speed.md): the original programs keep two D passes and torch's per-tensor Adam, and are not compiled.
    "model.d_one_pass": False,
    "model.compile": False,
    "model.discriminator.dropout_masks": "bernoulli",  # torch's own dropout masks (nn.Dropout), as the MNIST notebook
    "model.g_optimizer.fused": False,
    "model.d_optimizer.fused": False,
    "trainer.max_time": None,  # a listed key now (Lightning's own default): no wall-clock limit
}
# Keys that moved, not changed: the evaluator's settings are the `eval` group now, the image models' copy of it.
MOVED = {f"model.{key}": f"model.evaluation.{key}"
         for key in ("feature_extractor", "kid_subset_size", "kid_subsets")} | {"model.inception_weights":
                                                                                 "model.evaluation.inception"}


def _flat(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_seed_experiment_resolves_to_its_recipe(experiment):
    before = {MOVED.get(k, k): v for k, v in _flat(yaml.safe_load((SNAPSHOTS / f"{experiment}.yaml").read_text())).items()}
    now = _flat(resolved_recipe(experiment))
    assert {k: now.get(k, "<missing>") for k in before} == before
    added = {k: v for k, v in now.items() if k not in before}
    unexpected = {k for k in added if k not in ADDED_OFF and k != "model.r1_every" and k != "model.discriminator.norm"}
    assert not unexpected, f"keys new to an \"as written\" recipe: {sorted(unexpected)}; add them to ADDED_OFF, off"
    assert {k: v for k, v in added.items() if k in ADDED_OFF} == {k: ADDED_OFF[k] for k in added if k in ADDED_OFF}
    if "model.discriminator.norm" in added:
        assert added["model.discriminator.norm"] == "batch"  # the original's DCGAN critic keeps its BatchNorm
