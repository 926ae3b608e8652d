"""A bench's folder: ``bench.json``, one result file per (method, seed), LAPT run folders.

    runs/out/bench-<id>/bench.json                 protocol, methods, seeds, budget, providers
    runs/out/bench-<id>/results/<method>/seed-<k>.json   every evaluation of one seed
    runs/out/bench-<id>/runs/<method>-s<k>[-<task>]/     LAPT run folders (transcripts)
    runs/out/bench-<id>/report.md, seeds.csv, plots/*.png   written by the report

A result file is written atomically once its seed has finished, so a resumed bench
runs exactly the seeds that have none.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .protocols import BenchError

SETTINGS = "bench.json"


def provider_json(providers: dict[str, Any]) -> dict[str, Any]:
    """Provider configs as JSON (env-var names only; a test callable is named, not kept)."""
    out = {}
    for k, c in providers.items():
        if getattr(c, "provider", None) == "function":
            out[k] = {"provider": "function", "model": c.model}
        else:
            out[k] = c.model_dump(mode="json") if hasattr(c, "model_dump") else dict(c)
    return out


class BenchDir:
    """One bench's folder. Create with :meth:`create`, reopen with :meth:`open`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, out_dir: str | Path, protocol: str, settings: dict[str, Any],
               bench_id: str | None = None) -> BenchDir:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        bench_id = bench_id or f"bench-{protocol}-{stamp}-{secrets.token_hex(2)}"
        path = Path(out_dir) / bench_id
        if path.exists():
            raise BenchError(f"bench folder {path} exists; continue it with --resume {bench_id}")
        path.mkdir(parents=True)
        bd = cls(path)
        bd.write_settings({"protocol": protocol, "created": stamp, **settings})
        return bd

    @classmethod
    def open(cls, bench: str | Path, out_dir: str | Path = "runs/out") -> BenchDir:
        """An existing bench by folder path or by id under ``out_dir``."""
        for cand in (Path(bench), Path(out_dir) / str(bench), Path(out_dir) / f"bench-{bench}"):
            if (cand / SETTINGS).is_file():
                return cls(cand)
        root = Path(out_dir)
        known = sorted(p.name for p in root.glob("bench-*") if (p / SETTINGS).is_file()) \
            if root.is_dir() else []
        raise BenchError(f"no bench {str(bench)!r} (a folder with {SETTINGS}) here or in "
                         f"{out_dir}; benches there: {', '.join(known[-5:]) or 'none'}")

    def settings(self) -> dict[str, Any]:
        return json.loads((self.path / SETTINGS).read_text())

    def write_settings(self, settings: dict[str, Any]) -> None:
        _write_json(self.path / SETTINGS, settings)

    def result_path(self, method: str, seed: int) -> Path:
        return self.path / "results" / method / f"seed-{seed}.json"

    def finished(self, method: str, seed: int) -> bool:
        return self.result_path(method, seed).is_file()

    def write_result(self, record: dict[str, Any]) -> Path:
        path = self.result_path(record["method"], record["seed"])
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_json(path, record)
        return path

    def results(self) -> list[dict[str, Any]]:
        """Every finished seed's record, by method then seed."""
        root = self.path / "results"
        files = sorted(root.glob("*/seed-*.json"), key=lambda p: (
            p.parent.name, int(p.stem.removeprefix("seed-")))) if root.is_dir() else []
        return [json.loads(f.read_text()) for f in files]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
