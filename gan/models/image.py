"""GANs whose samples are images, (B, C, H, W) in [-1, 1]: the MNIST MLP GAN and DCGAN."""

from gan.models.gan import GAN


class ImageGAN(GAN):
    """`GAN` for image data; the generator returns (B, C, H, W) in [-1, 1] whatever its architecture."""
