"""A run's folder: ``config.yaml``, ``transcript.jsonl``, ``evaluations.jsonl``, ``results.json``.

Everything is appended as it happens (fsync'd), so an interrupted run can be resumed
from its folder: evaluations are offered back to the evaluators (never measured twice)
and recorded LLM answers are reused in order.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from lapt.spaces import get_space
from lapt.tools.evaluate import Evaluation
from lapt.tools.folders import OutputFolder

from .config import ConfigError, SessionConfig, load_config
from .jsonl import cut_torn_tail, dumps_line, read_records
from .providers import scrub
from .results import RunResult
from .transcript import Transcript, read_transcript

log = logging.getLogger(__name__)

CONFIG, TRANSCRIPT, EVALUATIONS, RESULTS, LINEAGE = (
    "config.yaml", "transcript.jsonl", "evaluations.jsonl", "results.json", "lineage.jsonl")


class RunDir(OutputFolder):
    """One run's folder. Create with :meth:`create`, reopen with :meth:`open`."""

    KIND = "run"
    MARKER = CONFIG

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._tail_checked = False  # evaluations.jsonl: a torn tail is cut once, first

    @classmethod
    def create(cls, config: SessionConfig, run_id: str | None = None) -> RunDir:
        """A new folder under ``config.out_dir`` holding the resolved config (no secrets)."""
        run_id = run_id or cls.new_id(config.name, cls.stamp())
        run = cls.make(config.out_dir, run_id, "resume it with --resume")
        (run.path / CONFIG).write_text(config.to_yaml())
        return run

    def config(self) -> SessionConfig:
        try:
            return load_config(self.path / CONFIG)
        except ConfigError as err:
            raise ConfigError(f"run {self.id}: {err}") from None

    def recorded_config(self) -> dict[str, Any]:
        """The config as this run wrote it, without its providers: what a replay or a
        reanalysis reruns with no model (a scripted or keyed provider is not rebuilt)."""
        path = self.path / CONFIG
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
        data = dict(data or {})
        data.pop("providers", None)
        return data

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
        self.write_json(RESULTS, scrub(results), indent=2)

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
    return RunDir.listing(out_dir)
