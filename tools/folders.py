"""Output folders (a run's, a bench's): one way to name, create, find and list them.

A folder of a kind is marked by one file in it (``config.yaml`` for a run,
``bench.json`` for a bench); its id is its name under an output directory. Subclasses
set :attr:`OutputFolder.KIND` and :attr:`OutputFolder.MARKER`, and may turn the
errors into their own types with :meth:`OutputFolder.error`.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

Problem = Literal["outside", "exists", "missing"]


class OutputFolder:
    """A folder of one kind under an output directory. Reopen one with :meth:`open`."""

    KIND: ClassVar[str]
    """What a folder holds, as messages name it: ``run``, ``bench``."""
    MARKER: ClassVar[str]
    """The file that makes a folder one of this kind."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def id(self) -> str:
        return self.path.name

    @staticmethod
    def stamp() -> str:
        """The UTC time as new folder ids carry it, e.g. ``20260101-120000``."""
        return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")

    @classmethod
    def new_id(cls, prefix: str, stamp: str) -> str:
        """``<prefix>-<stamp>-<4 hex digits>``."""
        return f"{prefix}-{stamp}-{secrets.token_hex(2)}"

    @classmethod
    def error(cls, problem: Problem, message: str) -> Exception:
        """The exception a problem raises (subclasses pick their own types)."""
        return {"outside": ValueError, "exists": FileExistsError,
                "missing": FileNotFoundError}[problem](message)

    @classmethod
    def make(cls, out_dir: str | Path, folder_id: str, resume_hint: str) -> Self:
        """Create the empty folder ``out_dir/folder_id``; refuse an id that leaves
        ``out_dir`` and a folder that exists (naming ``resume_hint``)."""
        out = Path(out_dir)
        path = out / folder_id
        if path.resolve().parent != out.resolve() or folder_id in (".", ".."):
            raise cls.error("outside", f"{cls.KIND} id {folder_id!r} would put the {cls.KIND} "
                            f"folder outside {out}; use letters, digits, '.', '_' and '-'")
        if path.exists():
            raise cls.error("exists", f"{cls.KIND} folder {path} exists; {resume_hint} "
                            f"{folder_id}")
        path.mkdir(parents=True)
        return cls(path)

    @classmethod
    def aliases(cls, ref: str, out_dir: Path) -> list[Path]:
        """Other places a reference may name (a bench id without its ``bench-`` prefix)."""
        return []

    @classmethod
    def open(cls, ref: str | Path, out_dir: str | Path = "runs/out") -> Self:
        """An existing folder by path or by id under ``out_dir``."""
        out = Path(out_dir)
        for cand in (Path(ref), out / str(ref), *cls.aliases(str(ref), out)):
            if (cand / cls.MARKER).is_file():
                return cls(cand)
        known = ", ".join(f.id for f in cls.listing(out)[-5:]) or "none"
        raise cls.error("missing", f"no {cls.KIND} {str(ref)!r} (a folder with {cls.MARKER}) "
                        f"here or in {out_dir}; recent ones there: {known}")

    @classmethod
    def listing(cls, out_dir: str | Path) -> list[Self]:
        """The folders of this kind under ``out_dir``, oldest first."""
        root = Path(out_dir)
        if not root.is_dir():
            return []
        found = [cls(p) for p in root.iterdir() if (p / cls.MARKER).is_file()]
        return sorted(found, key=lambda f: (f.path / cls.MARKER).stat().st_mtime)

    def write_json(self, name: str, data: Any, indent: int = 1) -> Path:
        """Write ``name`` in the folder as JSON, atomically (a kill leaves the old file)."""
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=indent))
        tmp.replace(path)
        return path
