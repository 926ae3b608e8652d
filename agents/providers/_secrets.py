"""Keep API keys out of records, reprs, logs and error text.

Keys are registered when a client is built (``register_secret``); ``scrub_text`` and
``scrub`` replace them, and anything shaped like a key, with ``[REDACTED]``.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_KEY = re.compile(
    r"(?i)^(api[_-]?key|apikey|secret|client[_-]?secret|passw(or)?d|authorization"
    r"|access[_-]?token|auth[_-]?token|refresh[_-]?token|bearer|x-api-key)$"
)
_SECRET_SHAPE = re.compile(
    r"\b(sk-(?:ant-)?[A-Za-z0-9_\-]{16,}|(?:ghp|gho|hf)_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})\b"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}")

_lock = threading.Lock()
_secrets: set[str] = set()
_env_names: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value so every scrub removes it (short values are ignored)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def register_secret_env(name: str) -> str | None:
    """Remember an env var NAME as secret; return its value (registered) if set."""
    with _lock:
        _env_names.add(name)
    value = os.environ.get(name)
    register_secret(value)
    return value


def _known() -> list[str]:
    with _lock:
        values = set(_secrets)
        names = set(_env_names)
    for name in names:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            values.add(value)
    return sorted(values, key=len, reverse=True)


def scrub_text(text: str, extra: list[str] | None = None) -> str:
    """Replace known secrets and key-shaped strings in ``text``."""
    for value in _known() + (extra or []):
        if value:
            text = text.replace(value, REDACTED)
    text = _SECRET_SHAPE.sub(REDACTED, text)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def scrub(obj: Any, extra: list[str] | None = None) -> Any:
    """Return a copy of a JSON-like value with secrets stripped.

    Values under secret-looking keys (``api_key``, ``authorization`` ...) are replaced
    whole; strings anywhere are scrubbed with ``scrub_text``.
    """
    if isinstance(obj, dict):
        return {
            k: (REDACTED if isinstance(k, str) and _SECRET_KEY.match(k) and v else scrub(v, extra))
            for k, v in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [scrub(v, extra) for v in obj]
    if isinstance(obj, str):
        return scrub_text(obj, extra)
    return obj
