"""Image data sets for the supernet: scikit-learn's 8x8 digits (embedded) and CIFAR-10/100.

CIFAR is read from a local folder in the torchvision layout (the official pickled numpy
batches) and never downloaded. Every split lives in memory as a tensor; batches are
normalised, and for CIFAR training optionally augmented (random crop with 4-pixel padding,
horizontal flip), on the fly.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

DATASETS = ("digits", "cifar10", "cifar100")
_CIFAR = {
    "cifar10": ("CIFAR-10", "cifar-10-batches-py",
                [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels", 10,
                "cifar-10-python.tar.gz"),
    "cifar100": ("CIFAR-100", "cifar-100-python", ["train"], ["test"], b"fine_labels", 100,
                 "cifar-100-python.tar.gz"),
}


OFFICIAL_MD5 = {  # the files of the official python versions (as torchvision checks them)
    "cifar-10-batches-py": {
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e"},
    "cifar-100-python": {
        "train": "16019d7e3df5f24257cddd939b257f8d",
        "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"},
}
"""MD5 of every CIFAR file lapt reads: a file that is not the official one is never
unpickled (unpickling runs whatever a crafted file asks for)."""


class DataError(FileNotFoundError):
    """A data set is missing or malformed; the message says where it was looked for."""


@dataclass(frozen=True)
class Split:
    """Images ``x`` (N, C, H, W; raw values) and labels ``y`` (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class ImageData:
    """Train, held-out validation and test splits plus how to normalise a batch."""

    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: bool = False
    """Random crop and horizontal flip on training batches (CIFAR)."""

    @property
    def in_channels(self) -> int:
        return int(self.train.x.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train.x.shape[-1])

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}; valid: train, val, test")
        return getattr(self, name)

    def batches(self, split: str, batch_size: int, generator: torch.Generator | None = None,
                device: torch.device | str = "cpu", shuffle: bool = False,
                augment: bool = False, limit: int | None = None,
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Normalised batches of a split.

        Args:
            generator: drives shuffling and augmentation.
            augment: random crop and flip, if the data set has them (``self.augment``).
            limit: stop after this many batches.
        """
        s = self.split(split)
        order = torch.randperm(len(s), generator=generator) if shuffle else torch.arange(len(s))
        mean = torch.tensor(self.mean, device=device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=device).view(1, -1, 1, 1)
        for b, start in enumerate(range(0, len(s), batch_size)):
            if limit is not None and b >= limit:
                return
            idx = order[start:start + batch_size]
            x = s.x[idx].to(device).float().div_(self.scale).sub_(mean).div_(std)
            if augment and self.augment:
                x = _augment(x, generator)
            yield x, s.y[idx].to(device)


def _augment(x: torch.Tensor, generator: torch.Generator | None, pad: int = 4) -> torch.Tensor:
    b, c, h, w = x.shape
    shift = torch.randint(0, 2 * pad + 1, (2, b), generator=generator).to(x.device)
    flip = (torch.rand(b, generator=generator) < 0.5).to(x.device)
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = (shift[0][:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (shift[1][:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    out = padded[torch.arange(b, device=x.device)[:, None, None, None],
                 torch.arange(c, device=x.device)[None, :, None, None], rows, cols]
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def default_data_root() -> Path:
    """``$LAPT_DATA`` if set, else ``~/.cache/lapt/data``."""
    return Path(os.environ.get("LAPT_DATA", Path.home() / ".cache" / "lapt" / "data"))


def load_data(name: str = "digits", root: str | Path | None = None, val_size: float = 0.1,
              seed: int = 0, augment: bool | None = None, *,
              trust_unverified: bool = False) -> ImageData:
    """Load a data set by name: ``digits`` (embedded), ``cifar10`` or ``cifar100`` (local).

    Args:
        root: folder holding ``cifar-10-batches-py`` / ``cifar-100-python`` (CIFAR only).
        val_size: share of the training images held out for validation (CIFAR; the
            digits split is fixed at 60/20/20).
        seed: the deterministic split's seed.
        augment: crop-and-flip augmentation; default on for CIFAR, off for digits.
        trust_unverified: read CIFAR files whose MD5 is not the official one (files you
            made yourself); by default they are refused before being unpickled.

    Raises:
        DataError: a CIFAR folder or file is missing, naming the folder and what to put there.
        ValueError: an unknown data set name.

    Example:
        >>> data = load_data("digits")
        >>> len(data.train), len(data.val), len(data.test), data.num_classes
        (1078, 359, 360, 10)
    """
    if name == "digits":
        return _digits(seed)
    if name in _CIFAR:
        return _cifar(name, Path(root) if root is not None else default_data_root(), val_size,
                      seed, True if augment is None else augment, trust_unverified)
    raise ValueError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")


def _digits(seed: int) -> ImageData:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32)).unsqueeze(1)
    y = torch.from_numpy(d.target.astype(np.int64))
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(y)))
    n_train, n_val = int(0.6 * len(y)), int(0.2 * len(y))
    parts = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
    train, val, test = (Split(x[p], y[p]) for p in parts)
    mean, std = train.x.mean().item() / 16.0, train.x.std().item() / 16.0
    return ImageData("digits", train, val, test, 10, 16.0, (mean,), (std,), augment=False)


def _cifar(name: str, root: Path, val_size: float, seed: int, augment: bool,
           trust_unverified: bool) -> ImageData:
    title, folder, train_files, test_files, label_key, classes, archive = _CIFAR[name]
    where = root / folder
    missing = [f for f in train_files + test_files if not (where / f).is_file()]
    if missing:
        raise DataError(
            f"{title} not found: expected the folder {where} holding "
            f"{', '.join(train_files + test_files)} (missing: {', '.join(missing)}). "
            f"Download the python version ({archive}) from https://www.cs.toronto.edu/~kriz/"
            f"cifar.html and extract it into {root}, or point the data root elsewhere "
            f"(the LAPT_DATA environment variable or the config's data root); lapt never "
            f"downloads data sets.")
    if not 0.0 < val_size < 1.0:
        raise ValueError(f"val_size must lie in (0, 1), got {val_size}")
    if not trust_unverified:
        _verify(where, folder, train_files + test_files)
    xs, ys = _read_batches(where, train_files, label_key)
    xt, yt = _read_batches(where, test_files, label_key)
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(ys)))
    n_val = round(val_size * len(ys))
    tr, va = order[n_val:], order[:n_val]
    train = Split(xs[tr], ys[tr])
    mean = tuple((train.x.float() / 255).mean(dim=(0, 2, 3)).tolist())
    std = tuple((train.x.float() / 255).std(dim=(0, 2, 3)).tolist())
    return ImageData(name, train, Split(xs[va], ys[va]), Split(xt, yt), classes, 255.0, mean,
                     std, augment=augment)


def _verify(where: Path, folder: str, files: list[str]) -> None:
    """Refuse, before unpickling anything, files that are not the official ones."""
    import hashlib

    for f in files:
        digest = hashlib.md5((where / f).read_bytes(), usedforsecurity=False).hexdigest()
        if digest != OFFICIAL_MD5[folder][f]:
            raise DataError(f"{where / f} is not the official CIFAR file (MD5 {digest}, "
                            f"expected {OFFICIAL_MD5[folder][f]}); lapt unpickles only the "
                            "official files. Extract the official archive again, or pass "
                            "trust_unverified=True for files you made yourself")


def _read_batches(where: Path, files: list[str],
                  label_key: bytes) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for f in files:
        with open(where / f, "rb") as fh:
            try:
                batch = pickle.load(fh, encoding="bytes")
                data, labels = batch[b"data"], batch[label_key]
            except (pickle.UnpicklingError, KeyError, TypeError, EOFError) as err:
                raise DataError(f"{where / f} is not an official CIFAR python batch: "
                                f"{err}") from err
        xs.append(np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(labels, dtype=np.int64))
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))
