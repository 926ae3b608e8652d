"""Parse a model's answer as JSON against a pydantic schema (never eval)."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["extract_json", "format_validation_error", "parse_answer"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


MAX_ANSWER_CHARS = 256_000
"""Longer answers are refused unread (no agent's answer comes near it)."""
_MAX_CANDIDATES = 32


def _object_spans(text: str) -> list[tuple[int, int]]:
    """The balanced ``{...}`` spans of ``text`` (honouring JSON strings), in order of their
    start, found in one pass: at most ``_MAX_CANDIDATES`` of them."""
    spans: list[tuple[int, int]] = []
    starts: list[int] = []
    in_str = escaped = False
    for i, ch in enumerate(text):
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "{":
            starts.append(i)
        elif ch == "}" and starts:
            spans.append((starts.pop(), i + 1))
    spans.sort()
    return spans[:_MAX_CANDIDATES]


def _loads(text: str) -> Any:
    try:
        return json.loads(text, strict=False)  # a raw newline in a string is kept
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # a number of thousands of digits
        raise json.JSONDecodeError("a number has too many digits", text, 0) from None


def extract_json(text: str) -> Any:
    """Decode the JSON value in an answer, in time linear in its length.

    Tries, in order: the whole text, the first ```json fence, the first balanced
    ``{...}`` that decodes (outer objects before the ones nested in them).

    Raises:
        ValueError: no JSON object could be found (or the answer is too long, or nested
            too deeply); the message says why.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("the answer is empty")
    if len(stripped) > MAX_ANSWER_CHARS:
        raise ValueError(f"the answer has {len(stripped):,} characters, more than the "
                         f"{MAX_ANSWER_CHARS:,} any answer may have")
    try:
        return _loads(stripped)
    except json.JSONDecodeError as exc:
        first_error = exc
    fence = _FENCE.search(stripped)
    if fence:
        try:
            return _loads(fence.group(1).strip())
        except json.JSONDecodeError:
            pass
    for start, end in _object_spans(stripped):
        try:
            return _loads(stripped[start:end])
        except json.JSONDecodeError:
            continue
    raise ValueError(f"the answer is not valid JSON: {first_error}")


def format_validation_error(exc: ValidationError) -> str:
    """One line per violation: ``field.path: message (got <input>)``."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        got = json.dumps(err.get("input"), default=str)
        if len(got) > 80:
            got = got[:77] + "..."
        lines.append(f"{loc}: {err['msg']} (got {got})")
    return f"{exc.error_count()} schema violation(s) for {exc.title}:\n" + "\n".join(lines)


def parse_answer(text: str, schema: type[BaseModel]) -> tuple[dict[str, Any] | None, str | None]:
    """Parse and validate an answer.

    Returns:
        ``(parsed, None)`` with the validated model dumped to JSON-ready data, or
        ``(None, error)`` with a precise message for a repair prompt.
    """
    try:
        data = extract_json(text)
    except ValueError as exc:
        return None, str(exc)
    if not isinstance(data, dict):
        return None, f"expected a JSON object for {schema.__name__}, got {type(data).__name__}"
    try:
        model = schema.model_validate(data)
    except ValidationError as exc:
        return None, format_validation_error(exc)
    return model.model_dump(mode="json"), None
