"""A run's folder: ``config.yaml``, ``transcript.jsonl``, ``evaluations.jsonl``, ``results.json``.

Everything is appended as it happens (fsync'd), so an interrupted run can be resumed
from its folder: evaluations are offered back to the evaluators (never measured twice)
and recorded LLM answers are reused in order.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from lapt.spaces import get_space
from lapt.tools.evaluate import Evaluation

from .config import ConfigError, SessionConfig, load_config
from .jsonl import cut_torn_tail, dumps_line, read_records
from .providers import scrub
from .results import RunResult
from .transcript import Transcript, read_transcript

log = logging.getLogger(__name__)

CONFIG, TRANSCRIPT, EVALUATIONS, RESULTS, LINEAGE = (
    "config.yaml", "transcript.jsonl", "evaluations.jsonl", "results.json", "lineage.jsonl")


class RunDir:
    """One run's folder. Create with :meth:`create`, reopen with :meth:`open`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tail_checked = False  # evaluations.jsonl: a torn tail is cut once, first

    @property
    def id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, config: SessionConfig, run_id: str | None = None) -> RunDir:
        """A new folder under ``config.out_dir`` holding the resolved config (no secrets)."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        run_id = run_id or f"{config.name}-{stamp}-{secrets.token_hex(2)}"
        out = Path(config.out_dir)
        path = out / run_id
        if path.resolve().parent != out.resolve() or run_id in (".", ".."):
            raise ValueError(f"run id {run_id!r} would put the run folder outside {out}; "
                             "use letters, digits, '.', '_' and '-'")
        if path.exists():
            raise FileExistsError(f"run folder {path} exists; resume it with --resume {run_id}")
        path.mkdir(parents=True)
        (path / CONFIG).write_text(config.to_yaml())
        return cls(path)

    @classmethod
    def open(cls, run: str | Path, out_dir: str | Path = "runs/out") -> RunDir:
        """An existing run by folder path or by id under ``out_dir``."""
        for cand in (Path(run), Path(out_dir) / str(run)):
            if (cand / CONFIG).is_file():
                return cls(cand)
        known = ", ".join(r.id for r in list_runs(out_dir)[-5:]) or "none"
        raise FileNotFoundError(f"no run {str(run)!r} (a folder with {CONFIG}) here or in "
                                f"{out_dir}; recent runs: {known}")

    def config(self) -> SessionConfig:
        try:
            return load_config(self.path / CONFIG)
        except ConfigError as err:
            raise ConfigError(f"run {self.id}: {err}") from None

    def transcript(self, secret_envs: list[str] | None = None) -> Transcript:
        return Transcript(self.path / TRANSCRIPT, secret_envs=secret_envs or [])

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Transcript records (none if the run has not written any)."""
        if not (self.path / TRANSCRIPT).exists():
            return []
        return read_transcript(self.path / TRANSCRIPT, kind=kind)

    # ------------------------------------------------------------ evaluations
    def append_evaluation(self, key: str, ev: Evaluation) -> None:
        """Append one evaluation; ``key`` names the evaluator (task, or task+supernet)."""
        space = get_space(self.config_space)
        line = dumps_line({"evaluator": key, "task": ev.task, "arch": space.encode(ev.arch),
                           "val": ev.val, "test": ev.test, "n": ev.n, "cost_s": ev.cost_s})
        if not self._tail_checked:  # a kill may have torn the last line
            cut_torn_tail(self.path / EVALUATIONS)
            self._tail_checked = True
        with open(self.path / EVALUATIONS, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    @property
    def config_space(self) -> str:
        if not hasattr(self, "_space"):  # read raw: a test-only provider config won't load
            self._space = str(yaml.safe_load((self.path / CONFIG).read_text())["space"])
        return self._space

    def evaluations(self, key: str | None = None) -> list[Evaluation]:
        """Recorded evaluations (of one evaluator), in order; a line that is not a whole
        evaluation (torn by a kill, or damaged) is skipped with a warning."""
        file = self.path / EVALUATIONS
        if not file.exists():
            return []
        space = get_space(self.config_space)
        out = []
        for i, rec in read_records(file):
            if key is not None and rec.get("evaluator") != key:
                continue
            try:
                out.append(Evaluation(space.decode(rec["arch"]), rec["task"], float(rec["val"]),
                                      float(rec["test"]), int(rec["n"]),
                                      float(rec.get("cost_s", 0.0))))
            except (KeyError, TypeError, ValueError) as err:
                log.warning("%s:%d: skipping a record that is not an evaluation: %s", file, i,
                            err)
        return out

    # ---------------------------------------------------------------- results
    def write_results(self, results: dict[str, Any]) -> None:
        tmp = self.path / (RESULTS + ".tmp")
        tmp.write_text(json.dumps(scrub(results), indent=2))
        tmp.replace(self.path / RESULTS)

    def results(self) -> RunResult | None:
        """The finished run's results (None while it has not finished)."""
        file = self.path / RESULTS
        if not file.exists():
            return None
        return RunResult.model_validate_json(file.read_text(encoding="utf-8"))

    def note_start(self, *, resumed: bool, replay_from: RunDir | None,
                   recorded_llm_calls: int) -> None:
        """Append this start to ``lineage.jsonl``: new or resumed, live or a replay."""
        line = dumps_line({"time": datetime.now(UTC).isoformat(timespec="seconds"),
                           "start": "resume" if resumed else "new",
                           "replay_from": str(replay_from.path) if replay_from else None,
                           "recorded_llm_calls": recorded_llm_calls})
        with open(self.path / LINEAGE, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def lineage(self) -> list[dict[str, Any]]:
        """Every start of this run, oldest first (see :meth:`note_start`)."""
        file = self.path / LINEAGE
        return [r for _, r in read_records(file)] if file.exists() else []

    def replayed_from(self) -> Path | None:
        """The run this one replays (recorded when it started), or None for a live run:
        a resumed replay goes on replaying."""
        starts = self.lineage()
        source = starts[0].get("replay_from") if starts else None
        return Path(source) if source else None

    @property
    def finished(self) -> bool:
        return (self.path / RESULTS).exists()


def list_runs(out_dir: str | Path = "runs/out") -> list[RunDir]:
    """Run folders under ``out_dir``, oldest first."""
    root = Path(out_dir)
    if not root.is_dir():
        return []
    runs = [RunDir(p) for p in root.iterdir() if (p / CONFIG).is_file()]
    return sorted(runs, key=lambda r: (r.path / CONFIG).stat().st_mtime)
