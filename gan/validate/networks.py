"""Every network's arguments checked as plain values, with no torch.

The network constructors call these checks, and `gan.run` calls them on the config before it imports torch
(gan/validate/preflight.py), so a wrong `model.generator.*` or `model.discriminator.*` value is answered in about a
second with the same words either way. A check looks only at the arguments it is given: `check_network` passes
what the config sets, a constructor passes everything.
"""

import inspect
import math
from collections.abc import Callable, Mapping, Sequence

from gan.errors import ConfigError
from gan.validate.options import (
    ACTIVATIONS,
    D_NORMS,
    DCGAN_IMAGE_SIZES,
    DROPOUT_MASKS,
    G_CONDITIONING,
    PREPROCESS,
)
from gan.validate.values import number, one_of, whole_number


def layer_sizes(key: str, sizes: Sequence[int] | None) -> list[int] | None:
    if sizes is None:
        return None
    sizes = [int(s) for s in sizes]
    if not sizes or min(sizes) < 1:
        raise ConfigError(f"{key}={sizes}: give one or more positive layer widths, e.g. [1024, 512, 256].")
    return sizes


def pack_size(pack: int) -> int:
    if int(pack) < 1:
        raise ConfigError(f"model.pack={pack}: the number of samples D judges together must be 1 or more.")
    return int(pack)


def latent_size(latent_dim: int | None) -> None:
    key = "model.generator.latent_dim"
    if latent_dim is not None and whole_number(key, latent_dim, f"{key}=100") < 1:
        raise ConfigError(f"model.generator.latent_dim={latent_dim}: G needs 1 or more noise numbers, e.g. 100.")


def class_count(num_classes: int | None) -> None:
    if num_classes is not None and int(num_classes) < 2:
        raise ConfigError(f"model.num_classes={num_classes}: a conditional network needs 2 or more classes.")


def dcgan_halvings(image_size: int, width: int, key: str) -> int:
    """Number of stride-2 halvings from `image_size` down to D's final 4x4 (at 28 px 7x7) map."""
    if image_size not in DCGAN_IMAGE_SIZES:
        raise ConfigError(f"{key}.image_size={image_size}: DCGAN supports {', '.join(map(str, DCGAN_IMAGE_SIZES))} "
                          "px; set data.image_size to one of them.")
    if int(width) < 1:
        raise ConfigError(f"{key}.width={width}: the width multiplier must be a positive integer (the notebook's: 64).")
    return int(math.log2(image_size // (7 if image_size == 28 else 4)))


def infogan_quarter(image_size: int, key: str) -> int:
    if int(image_size) % 4 or int(image_size) < 4:
        raise ConfigError(f"{key}.image_size={image_size}: InfoGAN's networks halve the image twice; use a multiple "
                          "of 4 such as MNIST's 28.")
    return int(image_size) // 4


# One check per network class, called with its keyword arguments: all of them (the constructor), or only those
# a config sets (check_network); an argument left out (None) is not checked.
def dcgan_generator(latent_dim=None, image_size=None, width=None, conditioning=None, num_classes=None, **_) -> None:
    latent_size(latent_dim)
    if image_size is not None:
        dcgan_halvings(image_size, 1 if width is None else width, "model.generator")
    elif width is not None:
        dcgan_halvings(DCGAN_IMAGE_SIZES[0], width, "model.generator")
    one_of(conditioning, G_CONDITIONING, "model.generator.conditioning")
    class_count(num_classes)


def dcgan_discriminator(image_size=None, width=None, norm=None, pack=None, num_classes=None, **_) -> None:
    if image_size is not None:
        dcgan_halvings(image_size, 1 if width is None else width, "model.discriminator")
    elif width is not None:
        dcgan_halvings(DCGAN_IMAGE_SIZES[0], width, "model.discriminator")
    one_of(norm, D_NORMS, "model.discriminator.norm", " The original's is batch.")
    if pack is not None and pack_size(pack) > 1 and num_classes is not None:
        raise ConfigError(f"model.pack={pack} with a conditional DCGAN: the projection scores each image with its own "
                          "label, a pack has several; use model.pack=1 for model.conditional=true.")
    class_count(num_classes)


def gaussian_generator(hidden_sizes=None, activation=None, tails_from=None, noise_dim=None, **_) -> None:
    layer_sizes("model.generator.hidden_sizes", hidden_sizes)
    one_of(activation, ACTIVATIONS, "model.generator.activation")
    key = "model.generator.tails_from"
    if tails_from is not None and not number(key, tails_from, f"{key}=2") > 0:
        raise ConfigError(f"model.generator.tails_from={tails_from}: the tail path starts beyond this many standard "
                          "deviations of the noise; use a positive number such as 2, or null for none.")
    if tails_from is not None and noise_dim is not None and int(noise_dim) != 1:
        raise ConfigError(f"model.generator.tails_from with noise_dim={noise_dim}: the tails continue G along its one "
                          "uniform input; use model.generator.noise_dim=1, or tails_from=null.")


def gaussian_discriminator(preprocess=None, hidden_sizes=None, activation=None, pack=None, **_) -> None:
    if pack is not None:
        pack_size(pack)
    one_of(preprocess, PREPROCESS, "model.discriminator.preprocess",
           " Pick one, e.g. model.discriminator.preprocess=moments.")
    layer_sizes("model.discriminator.hidden_sizes", hidden_sizes)
    one_of(activation, ACTIVATIONS, "model.discriminator.activation")


def label_code(embed_dim: int | None, key: str) -> None:
    if embed_dim is not None and int(embed_dim) < 1:
        raise ConfigError(f"{key}.embed_dim={embed_dim}: the label code needs 1 or more numbers, e.g. 10.")


def mlp_generator(latent_dim=None, hidden_sizes=None, num_classes=None, embed_dim=None, **_) -> None:
    latent_size(latent_dim)
    layer_sizes("model.generator.hidden_sizes", hidden_sizes)
    class_count(num_classes)
    label_code(embed_dim, "model.generator")


def mlp_discriminator(hidden_sizes=None, dropout=None, dropout_masks=None, pack=None, num_classes=None, embed_dim=None,
                      **_) -> None:
    if dropout_masks is not None and dropout_masks not in DROPOUT_MASKS:
        raise ConfigError(f"model.discriminator.dropout_masks={dropout_masks}: use uniform (fast on the CPU) or "
                          "bernoulli (torch's own masks, as the MNIST notebook).")
    if pack is not None:
        pack_size(pack)
    if dropout is not None and not 0.0 <= dropout < 1.0:
        raise ConfigError(f"model.discriminator.dropout={dropout}: use a value in [0, 1), e.g. 0.3 as the notebook.")
    layer_sizes("model.discriminator.hidden_sizes", hidden_sizes)
    class_count(num_classes)
    label_code(embed_dim, "model.discriminator")


def infogan_generator(latent_dim=None, image_size=None, **_) -> None:
    latent_size(latent_dim)
    if image_size is not None:
        infogan_quarter(image_size, "model.generator")


def infogan_discriminator(image_size=None, **_) -> None:
    if image_size is not None:
        infogan_quarter(image_size, "model.discriminator")


def point_generator(latent_dim=None, hidden_sizes=None, **_) -> None:
    latent_size(latent_dim)
    layer_sizes("model.generator.hidden_sizes", hidden_sizes)


def point_discriminator(hidden_sizes=None, pack=None, input_scale=None, fourier=None, fourier_scale=None, **_) -> None:
    if input_scale is not None and not input_scale > 0:
        raise ConfigError(f"model.discriminator.input_scale={input_scale}: must be positive (the data's radius).")
    if fourier is not None and int(fourier) < 0:
        raise ConfigError(f"model.discriminator.fourier={fourier}: the number of Fourier features must be 0 (off) or "
                          "more.")
    if fourier_scale is not None and not fourier_scale > 0:
        raise ConfigError(f"model.discriminator.fourier_scale={fourier_scale}: must be positive (frequencies per unit "
                          "of the scaled input).")
    if pack is not None:
        pack_size(pack)
    layer_sizes("model.discriminator.hidden_sizes", hidden_sizes)


CHECKS: dict[str, Callable[..., None]] = {
    "gan.networks.dcgan.DCGANGenerator": dcgan_generator,
    "gan.networks.dcgan.DCGANDiscriminator": dcgan_discriminator,
    "gan.networks.gaussian.GaussianGenerator": gaussian_generator,
    "gan.networks.gaussian.GaussianDiscriminator": gaussian_discriminator,
    "gan.networks.mlp.MLPGenerator": mlp_generator,
    "gan.networks.mlp.MLPDiscriminator": mlp_discriminator,
    "gan.networks.infogan.InfoGANGenerator": infogan_generator,
    "gan.networks.infogan.InfoGANDiscriminator": infogan_discriminator,
    "gan.networks.points.PointGenerator": point_generator,
    "gan.networks.points.PointDiscriminator": point_discriminator,
}


def check_network(node: Mapping) -> None:
    """The checks of the network class a config node names (`_target_`), on the values it sets."""
    check = CHECKS.get(str(node.get("_target_", "")))
    if check is not None:  # only the keys the check reads are resolved: the rest may point at other config groups
        check(**{key: node[key] for key in inspect.signature(check).parameters if key != "_" and key in node})
