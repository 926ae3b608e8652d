"""A recorded capable-model session, shipped so that ``lapt demo`` can replay it offline.

``nb201-capable.tar.xz`` holds one finished run folder (its config and transcript) of
the NB201 preset in which every agent was answered by a capable LLM through the
``manual`` provider; :data:`RECORDED` says which model and where it comes from.
"""

from __future__ import annotations

import tarfile
from importlib import resources
from pathlib import Path

ARCHIVE = "nb201-capable.tar.xz"
RECORDED = ("a capable LLM (a Claude helper agent, each prompt file answered from its own "
            "text alone through the manual provider), seed 0 of the NB201 capable-model bench")


def unpack(into: Path) -> Path:
    """Unpack the recorded run folder under ``into``; returns its path."""
    into.mkdir(parents=True, exist_ok=True)
    with resources.as_file(resources.files("lapt.demo").joinpath(ARCHIVE)) as path, \
            tarfile.open(path, "r:xz") as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        tar.extractall(into, filter="data")
    return into / top
