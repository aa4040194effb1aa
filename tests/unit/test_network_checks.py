"""gan.validate.networks: the networks' argument checks, which gan.run calls on the config before torch is imported and
the constructors call on their arguments. Both paths must refuse the same values with the same words."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.utils import get_class

from gan.errors import ConfigError
from gan.validate import networks as checks
from gan.validate import options

REPO = Path(__file__).resolve().parents[2]

# (network class, arguments that build it, one wrong argument, what the error says)
BAD = [
    ("gan.networks.dcgan.DCGANGenerator", {"image_size": 32, "width": 2}, {"image_size": 48}, "data.image_size"),
    ("gan.networks.dcgan.DCGANGenerator", {"image_size": 32, "width": 2}, {"width": 0}, "model.generator.width=0"),
    ("gan.networks.dcgan.DCGANGenerator", {"image_size": 32, "width": 2, "num_classes": 3},
     {"conditioning": "film"}, "model.generator.conditioning='film'"),
    ("gan.networks.dcgan.DCGANGenerator", {"image_size": 32, "width": 2}, {"num_classes": 1}, "2 or more classes"),
    ("gan.networks.dcgan.DCGANDiscriminator", {"image_size": 32, "width": 2}, {"norm": "group"},
     "model.discriminator.norm='group'"),
    ("gan.networks.dcgan.DCGANDiscriminator", {"image_size": 32, "width": 2, "num_classes": 3}, {"pack": 2},
     "use model.pack=1 for model.conditional=true"),
    ("gan.networks.gaussian.GaussianGenerator", {}, {"activation": "swish"}, "model.generator.activation='swish'"),
    ("gan.networks.gaussian.GaussianGenerator", {}, {"tails_from": 0}, "model.generator.tails_from=0"),
    ("gan.networks.gaussian.GaussianGenerator", {"tails_from": 2.0}, {"noise_dim": 2}, "noise_dim=2"),
    ("gan.networks.gaussian.GaussianDiscriminator", {"sample_size": 8}, {"preprocess": "quantiles"},
     "model.discriminator.preprocess='quantiles'"),
    ("gan.networks.gaussian.GaussianDiscriminator", {"sample_size": 8}, {"pack": 0}, "model.pack=0"),
    ("gan.networks.mlp.MLPGenerator", {"latent_dim": 4, "channels": 1, "image_size": 4}, {"latent_dim": 0},
     "model.generator.latent_dim=0"),
    ("gan.networks.mlp.MLPGenerator", {"latent_dim": 4, "channels": 1, "image_size": 4}, {"hidden_sizes": [8, 0]},
     "positive layer widths"),
    ("gan.networks.mlp.MLPDiscriminator", {"channels": 1, "image_size": 4}, {"dropout": 1.0},
     "model.discriminator.dropout=1.0"),
    ("gan.networks.mlp.MLPDiscriminator", {"channels": 1, "image_size": 4}, {"dropout_masks": "gauss"},
     "model.discriminator.dropout_masks=gauss"),
    ("gan.networks.mlp.MLPDiscriminator", {"channels": 1, "image_size": 4, "num_classes": 3}, {"embed_dim": 0},
     "model.discriminator.embed_dim=0"),
    ("gan.networks.infogan.InfoGANGenerator", {"width": 2, "hidden": 8}, {"image_size": 30}, "multiple of 4"),
    ("gan.networks.infogan.InfoGANDiscriminator", {"width": 2, "hidden": 8, "q_hidden": 4}, {"image_size": 30},
     "multiple of 4"),
    ("gan.networks.points.PointGenerator", {}, {"hidden_sizes": []}, "positive layer widths"),
    ("gan.networks.points.PointDiscriminator", {}, {"input_scale": 0.0}, "model.discriminator.input_scale=0.0"),
    ("gan.networks.points.PointDiscriminator", {"fourier": 4}, {"fourier_scale": 0.0}, "fourier_scale=0.0"),
]


@pytest.mark.parametrize("target, good, bad, says", BAD, ids=[f"{t.split('.')[-1]}-{b}" for t, _, b, _ in BAD])
def test_the_config_check_and_the_constructor_refuse_alike(target, good, bad, says):
    network = get_class(target)
    network(**good)  # the good arguments build
    with pytest.raises(ConfigError) as built:
        network(**{**good, **bad})
    with pytest.raises(ConfigError) as checked:
        checks.check_network({"_target_": target, **{**good, **bad}})
    assert says in str(built.value)
    assert str(checked.value) == str(built.value)
    checks.check_network({"_target_": target, **good})  # and the good config passes the check


def test_every_network_in_the_configs_has_its_check():
    targets = set()
    for path in (REPO / "conf").rglob("*.yaml"):
        targets.update(re.findall(r"_target_:\s*(gan\.networks\.\S+)", path.read_text()))
    assert targets and targets <= set(checks.CHECKS), sorted(targets - set(checks.CHECKS))


def test_an_implementation_table_that_differs_from_the_options_fails_on_import():
    """Names are written once (gan/validate/options.py); a table missing one, adding one or reordering them
    raises where it is defined, so the torch-free checks and the implementations cannot drift apart."""
    assert options.table("model.loss", ("a", "b"), {"a": 1, "b": 2}) == {"a": 1, "b": 2}
    for wrong in ({"a": 1}, {"a": 1, "b": 2, "c": 3}, {"b": 2, "a": 1}):
        with pytest.raises(ImportError, match=r"model.loss: implemented .* but gan/validate/options.py lists"):
            options.table("model.loss", ("a", "b"), wrong)


def test_the_checks_import_no_torch():
    modules = "options, values, game, networks, data, config"
    code = (f"import sys; from gan.validate import {modules}; "
            "print(sorted(m for m in ('torch', 'hydra', 'pytorch_lightning') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "[]", done.stderr
