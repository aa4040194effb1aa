"""Generators and discriminators: plain `nn.Module`s that take tensors and return tensors."""


def with_spectral_norm(net):
    """Every Linear and Conv layer of `net` divided by its largest singular value (Miyato et al. 2018), estimated
    by one power iteration per training forward pass (torch's parametrization); returns `net`."""
    # imported here: the package stays torch-free, so gan.validate.networks answers a bad config before torch loads
    from torch import nn
    from torch.nn.utils.parametrizations import spectral_norm

    for module in list(net.modules()):
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            spectral_norm(module)
    return net
