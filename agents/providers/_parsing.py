"""Parse a model's answer as JSON against a pydantic schema (never eval)."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["extract_json", "format_validation_error", "parse_answer"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def _balanced_object(text: str, start: int) -> str | None:
    """Return the balanced ``{...}`` starting at ``start``, honouring JSON strings."""
    depth = 0
    in_str = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
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
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def extract_json(text: str) -> Any:
    """Decode the JSON value in an answer.

    Tries, in order: the whole text, the first ```json fence, the first balanced
    ``{...}`` that decodes.

    Raises:
        ValueError: no JSON object could be found; the message says why.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("the answer is empty")
    try:
        return json.loads(stripped, strict=False)  # a raw newline in a string is kept
    except json.JSONDecodeError as exc:
        first_error = exc
    for block in _FENCE.findall(stripped):
        try:
            return json.loads(block.strip(), strict=False)
        except json.JSONDecodeError:
            pass
    pos = stripped.find("{")
    while pos != -1:
        candidate = _balanced_object(stripped, pos)
        if candidate is None:
            break
        try:
            return json.loads(candidate, strict=False)
        except json.JSONDecodeError:
            pos = stripped.find("{", pos + 1)
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
