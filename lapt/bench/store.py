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
from pathlib import Path
from typing import Any

from lapt.tools.folders import OutputFolder, Problem

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


class BenchDir(OutputFolder):
    """One bench's folder. Create with :meth:`create`, reopen with :meth:`open`."""

    KIND = "bench"
    MARKER = SETTINGS

    @classmethod
    def error(cls, problem: Problem, message: str) -> Exception:
        return BenchError(message)

    @classmethod
    def aliases(cls, ref: str, out_dir: Path) -> list[Path]:
        return [out_dir / f"bench-{ref}"]

    @classmethod
    def create(cls, out_dir: str | Path, protocol: str, settings: dict[str, Any],
               bench_id: str | None = None) -> BenchDir:
        stamp = cls.stamp()
        bd = cls.make(out_dir, bench_id or cls.new_id(f"bench-{protocol}", stamp),
                      "continue it with --resume")
        bd.write_settings({"protocol": protocol, "created": stamp, **settings})
        return bd

    def settings(self) -> dict[str, Any]:
        return json.loads((self.path / SETTINGS).read_text())

    def write_settings(self, settings: dict[str, Any]) -> None:
        self.write_json(SETTINGS, settings)

    def result_path(self, method: str, seed: int) -> Path:
        return self.path / "results" / method / f"seed-{seed}.json"

    def finished(self, method: str, seed: int) -> bool:
        return self.result_path(method, seed).is_file()

    def write_result(self, record: dict[str, Any]) -> Path:
        path = self.result_path(record["method"], record["seed"])
        return self.write_json(str(path.relative_to(self.path)), record)

    def results(self) -> list[dict[str, Any]]:
        """Every finished seed's record, by method then seed."""
        root = self.path / "results"
        files = sorted(root.glob("*/seed-*.json"), key=lambda p: (
            p.parent.name, int(p.stem.removeprefix("seed-")))) if root.is_dir() else []
        return [json.loads(f.read_text()) for f in files]
