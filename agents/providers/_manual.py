"""Manual: a person answers with any chat UI (terminal or answer files)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from ._local import LocalClient
from .config import ManualConfig

__all__ = ["ManualClient", "answer_file"]


def answer_file(answers_dir: Path, agent: str, n: int) -> Path:
    """Where the answer to an agent's n-th call (from 1) is read."""
    return answers_dir / f"{agent}-{n}.json"


def _write_prompt(
    folder: Path, agent: str, n: int, messages: list[dict[str, str]], schema: type[BaseModel] | None
) -> None:
    """Leave the prompt next to the expected answer, ready to paste into a chat UI."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = [f"## {m['role']}\n\n{m['content']}" for m in messages]
    if schema is not None:
        parts.append("## JSON schema of the answer\n\n" + json.dumps(schema.model_json_schema()))
    (folder / f"{agent}-{n}.prompt.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")


class ManualClient(LocalClient):
    """Shows each prompt (and the schema) with rich; reads the answer.

    From the terminal the answer ends with a line ``END``; with ``answers_dir`` it is
    the file ``<agent>-<n>.json``, waited for up to ``wait_s`` seconds; the prompt is
    left beside it as ``<agent>-<n>.prompt.md``.
    """

    def __init__(
        self,
        config: ManualConfig,
        *,
        console: Console | None = None,
        read_line: Callable[[], str] | None = None,
    ) -> None:
        super().__init__()
        self._config = config
        self._console = console or Console(stderr=True)
        self._read_line = read_line or sys.stdin.readline

    def _show(
        self, agent: str, n: int, messages: list[dict[str, str]], schema: type[BaseModel] | None
    ) -> None:
        from ..transcript_view import clean  # lazy: the view imports nothing of ours back

        out = self._console
        out.rule(Text(f"{agent}, call {n}", style="bold"))
        for msg in messages:  # plain text: a model's earlier answer may hold markup
            out.print(Panel(Text(clean(msg["content"])), title=Text(msg["role"]),
                            title_align="left"))
        if schema is not None:
            out.print(Panel(Text(json.dumps(schema.model_json_schema(), indent=1)),
                            title="JSON schema"))

    def _read_terminal(self) -> str:
        self._console.print("Paste the answer, then a line [bold]END[/bold]:")
        lines: list[str] = []
        while True:
            line = self._read_line()
            if line == "" or line.rstrip("\r\n") == "END":
                break
            lines.append(line.rstrip("\r\n"))
        return "\n".join(lines)

    async def _read_file(self, path: Path) -> str:
        deadline = time.monotonic() + self._config.wait_s
        while not path.exists():
            if time.monotonic() >= deadline:
                raise FileNotFoundError(
                    f"manual provider: no answer file {path} (waited {self._config.wait_s:g} s); "
                    "write the answer there and run again"
                )
            await asyncio.sleep(min(0.5, self._config.wait_s))
        return path.read_text(encoding="utf-8")

    async def answer(
        self, agent: str, messages: list[dict[str, str]], schema: type[BaseModel] | None
    ) -> tuple[str, int, int]:
        n = self.next_index(agent)
        if self._config.answers_dir is not None:
            _write_prompt(self._config.answers_dir, agent, n, messages, schema)
            self._console.print(
                f"[dim]{agent} call {n}: reading "
                f"{answer_file(self._config.answers_dir, agent, n)}[/dim]"
            )
            text = await self._read_file(answer_file(self._config.answers_dir, agent, n))
        else:
            self._show(agent, n, messages, schema)
            text = await asyncio.to_thread(self._read_terminal)
        return text, 0, 0
