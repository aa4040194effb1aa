"""Every named choice of a config key, written once, without torch.

The checks (gan/validate/) refuse any other value before torch is imported; each implementation builds its table
with `table()`, which fails on import when the table and these names differ, so the two cannot drift apart.
"""

from collections.abc import Mapping

LOSSES = ("bce", "minimax", "hinge", "lsgan", "wgan")  # model.loss: gan/losses.py
NOISES = ("normal", "uniform")  # model.noise: gan/game.py
AUGMENTATIONS = ("color", "translation", "cutout")  # model.augment, in applying order: gan/augment.py
DCGAN_IMAGE_SIZES = (28, 32, 64, 128)  # data.image_size a DCGAN supports: gan/networks/dcgan.py
D_NORMS = ("batch", "none", "layer", "instance")  # model.discriminator.norm of a DCGAN: gan/networks/dcgan.py
G_CONDITIONING = ("concat", "cbn")  # how a conditional DCGAN's G reads its label: joined to z, or conditional BN
ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu", "elu")  # the Gaussian GAN's networks: gan/networks/gaussian.py
PREPROCESS = ("moments", "raw", "variances", "diffs", "sorted")  # what its D sees of a set: gan/networks/gaussian.py
DROPOUT_MASKS = ("uniform", "bernoulli")  # model.discriminator.dropout_masks of the MLP D: gan/networks/mlp.py
SAMPLINGS = ("raw", "drs")  # model.sampling of the mixture GAN: G's draws, or discriminator rejection sampling
MIXTURE_LAYOUTS = ("ring", "grid")  # data.layout: gan/data/mixture.py
BACKGROUNDS = ("white", "black")  # data.background, what transparent pixels show: gan/data/image_folder.py
# The `eval` group's keys that ImageEvaluator takes by the same name (eval.inception is its `inception_weights`):
# gan/models/image.py, and gan/resume.py for run folders that saved them as model.* keys.
EVALUATOR_KEYS = ("feature_extractor", "feature_build", "kid_subset_size", "kid_subsets", "nearest_k")


def table(key: str, names: tuple, implementations: Mapping) -> Mapping:
    """`implementations`, checked to be keyed by exactly `names`, in their order: an option without an
    implementation (or one without an option) fails on import, not in a user's run."""
    if tuple(implementations) != tuple(names):
        raise ImportError(f"{key}: implemented {tuple(implementations)}, but gan/validate/options.py lists {names}")
    return implementations
