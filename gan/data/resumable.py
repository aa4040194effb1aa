"""Training data that a resumed run continues exactly, from an epoch's end or from the middle of one.

A plain DataLoader draws its shuffle order and worker seeds from the global RNG the model's noise comes from
(and a fetch-ahead moves it), and it keeps no place in the epoch: a run stopped mid-epoch (SIGTERM, Ctrl-C,
`trainer.max_steps`) would restart that epoch in a new order. `ResumableLoader` draws from its own generator and
has `state_dict`/`load_state_dict`; `ResumableDataModule` keeps that state in every checkpoint.
"""

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

DATA_SEED_OFFSET = 1_000_003  # data and noise must not share a stream when both are seeded from `seed`


def data_generator(datamodule: pl.LightningDataModule) -> torch.Generator:
    """The generator for all of a training loader's randomness, seeded from the run's seed and the rank.

    `seed_everything(seed)` seeds torch's global generator, which the model's noise uses; the data gets its own
    stream, offset so real data and noise are never the same numbers, and one per rank under DDP.
    """
    trainer = datamodule.trainer
    rank = trainer.global_rank if trainer is not None else 0
    return torch.Generator().manual_seed((torch.initial_seed() + DATA_SEED_OFFSET + rank) % 2**63)


def batches_trained(datamodule: pl.LightningDataModule) -> int | None:
    """Batches of the current epoch already trained on, or None when the epoch is through (or no trainer).

    Asked of the trainer, not counted by the loader: Lightning fetches one batch ahead to know which is last.
    """
    trainer = datamodule.trainer
    if trainer is None:
        return None
    done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
    return done if 0 < done < trainer.num_training_batches else None


class ResumableLoader(DataLoader):
    """A DataLoader whose place in the epoch goes into checkpoints, so a run stopped mid-epoch resumes exactly.

    All of its randomness (shuffle order, worker seeds, and a dataset's own draws made with the same
    `generator`) comes from `generator`, never from the global RNG, so fetching ahead moves nothing the model
    draws. The state is the generator as the epoch began and as it is now, and how many batches were trained
    on (`position()`, None at an epoch's end). Resuming mid-epoch replays the epoch from its first state and
    skips the batches already trained on by fetching them, so a dataset's own draws replay as well; resuming
    at an epoch's end just continues the generator.
    """

    def __init__(self, dataset, *args, generator: torch.Generator, position=None, **kwargs) -> None:
        super().__init__(dataset, *args, generator=generator, **kwargs)
        self.position = position
        self._epoch_start = generator.get_state()
        self._to_load: dict | None = None

    def __iter__(self):
        skip = 0
        if self._to_load is not None:
            state, self._to_load = self._to_load, None
            skip = state["batches_trained"]
            self.generator.set_state(state["epoch_start"] if skip else state["generator"])
        self._epoch_start = self.generator.get_state()
        iterator = super().__iter__()
        for _ in range(skip):
            next(iterator)
        return iterator

    def state_dict(self) -> dict:
        trained = (self.position() if self.position is not None else None) or 0  # 0: resume at an epoch start
        return {"epoch_start": self._epoch_start, "generator": self.generator.get_state(), "batches_trained": trained}

    def load_state_dict(self, state: dict) -> None:
        self._to_load = state


class ResumableDataModule(pl.LightningDataModule):
    """A LightningDataModule whose training loader's state is saved in checkpoints and restored on resume.

    Lightning restores a loader's state itself only when it resumes mid-epoch; from an epoch-end checkpoint it
    builds a fresh loader, which would re-seed the data stream. The datamodule's own `state_dict` is saved in
    every checkpoint and loaded before `train_dataloader()`, so it carries the loader's state in both cases.
    Under DDP Lightning re-creates the loader with a DistributedSampler: a plain DataLoader then, no state.
    """

    _train_loader: ResumableLoader | None = None
    _train_loader_state: dict | None = None

    def check(self) -> None:
        """Raises a DataError when the data cannot be there (missing files); cheap, called before a run starts."""

    def train_loader(self, dataset: Dataset, generator: torch.Generator, **kwargs) -> DataLoader:
        """The training DataLoader over `dataset`, all its randomness from `generator` (see `data_generator`)."""
        if self.trainer is not None and self.trainer.world_size > 1:
            return DataLoader(dataset, generator=generator, **kwargs)
        loader = ResumableLoader(dataset, generator=generator, position=lambda: batches_trained(self), **kwargs)
        if self._train_loader_state is not None:
            loader.load_state_dict(self._train_loader_state)
            self._train_loader_state = None
        self._train_loader = loader
        return loader

    def state_dict(self) -> dict:
        return {"train_loader": self._train_loader.state_dict()} if self._train_loader is not None else {}

    def load_state_dict(self, state_dict: dict) -> None:
        self._train_loader_state = state_dict.get("train_loader")
