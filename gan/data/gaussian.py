"""Real data for the 1-D Gaussian GAN: sets of draws from N(mean, std), made on the fly (no files)."""

import torch
from torch.utils.data import DataLoader, Dataset

from gan.data.resumable import ResumableDataModule, data_generator
from gan.errors import ConfigError


class _GaussianSets(Dataset):
    """Item i is one training step's real data: (slices * sets, sample_size) fresh draws (index unused).

    The draws come from `generator`, the training loader's own, so a resumed run replays them exactly.
    """

    def __init__(self, mean: float, std: float, shape: tuple[int, int], length: int, generator=None) -> None:
        self.mean, self.std, self.shape, self.length, self.generator = mean, std, shape, length, generator

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.randn(self.shape, generator=self.generator) * self.std + self.mean


class GaussianDataModule(ResumableDataModule):
    """N(mean, std) in sets of `sample_size` draws; one batch feeds `slices` discriminator updates.

    A batch is (slices * sets_per_update, sample_size): each of the model's `d_steps` updates takes its
    own `sets_per_update` sets, as the original draws a fresh real set for each of its 20 D steps. An
    "epoch" here is `steps_per_epoch` training steps (each one original epoch), so the original's 5000 epochs
    are 50 Lightning epochs of 100.
    """

    def __init__(
        self,
        mean: float = 4.0,
        std: float = 1.25,
        sample_size: int = 500,
        sets_per_update: int = 1,
        slices: int = 1,
        steps_per_epoch: int = 100,
    ) -> None:
        super().__init__()
        if not std > 0:
            raise ConfigError(f"data.std={std}: a standard deviation must be positive, e.g. data.std=1.25.")
        for key, value in {
            "data.sample_size": sample_size,
            "data.sets_per_update": sets_per_update,
            "data.slices": slices,
            "data.steps_per_epoch": steps_per_epoch,
        }.items():
            if int(value) < 1:
                raise ConfigError(f"{key}={value}: must be a positive integer.")
        if sample_size < 2:
            raise ConfigError(f"data.sample_size={sample_size}: a set needs at least 2 draws to have a spread.")
        self.save_hyperparameters()
        self.mean, self.std, self.sample_size = float(mean), float(std), int(sample_size)
        self.sample_shape = (self.sample_size,)  # what one discriminator sample looks like

    def train_dataloader(self) -> DataLoader:
        hp = self.hparams
        shape = (hp.slices * hp.sets_per_update, hp.sample_size)
        generator = data_generator(self)
        sets = _GaussianSets(self.mean, self.std, shape, hp.steps_per_epoch, generator)
        # batch_size=None: each item already is a whole batch, so no collate cost per step.
        return self.train_loader(sets, generator, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        # The evaluation draws its own samples; one placeholder item triggers it once per validation.
        return DataLoader(torch.zeros(1), batch_size=None)
