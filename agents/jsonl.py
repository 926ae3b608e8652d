"""JSON Lines as the run folder writes and reads them: one record, exactly one line.

Model text can hold characters that some readers take for line breaks (U+2028,
U+2029, U+0085) and lone surrogates that UTF-8 cannot encode. :func:`dumps_line`
escapes them, so every record is one ``\\n``-terminated UTF-8 line; :func:`read_records`
splits on ``\\n`` only and skips, with a warning naming the file and line, what is not
a JSON object (a torn last line after a kill, or a damaged line anywhere).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SEPARATORS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}

__all__ = ["cut_torn_tail", "dumps_line", "read_records"]


def dumps_line(record: Any) -> str:
    """``record`` as one line of JSON (no newline at the end), safe in UTF-8."""
    line = json.dumps(record, ensure_ascii=False, default=str)
    for ch, esc in _SEPARATORS.items():
        if ch in line:  # only inside strings: JSON's own syntax has none of them
            line = line.replace(ch, esc)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escape everything outside ASCII
        line = json.dumps(record, ensure_ascii=True, default=str)
    return line


def read_records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for every line of ``path`` that is a JSON object."""
    out = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.split("\n")
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            torn = i == len(lines)  # no newline after it: the write was cut off
            log.warning("%s:%d: skipping %s: %s", path, i,
                        "a truncated last line" if torn else "a line that is not JSON",
                        str(exc)[:120])
            continue
        if not isinstance(record, dict):
            log.warning("%s:%d: skipping a line that is not a JSON object", path, i)
            continue
        out.append((i, record))
    return out


def cut_torn_tail(path: Path) -> int:
    """Cut a last line that a kill left without its newline (before appending to
    ``path``, so the next record starts a line of its own); return the bytes kept."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        log.warning("%s: dropping a truncated last record (%d bytes)", path, len(data) - end)
        os.truncate(path, end)
    return end
