"""Provider errors: which are transient (retried) and the error we raise."""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import TYPE_CHECKING

from ._secrets import scrub_text

if TYPE_CHECKING:
    from .records import LLMCall

__all__ = ["LLMError", "context_hint", "is_transient", "retry_after_s"]


def _transport_errors() -> tuple[type[BaseException], ...]:
    """httpx transport errors (openai 3 uses the ``httpx2`` fork)."""
    found = []
    for name in ("httpx", "httpx2"):
        try:
            found.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            pass
    return tuple(found)


_TRANSPORT_ERRORS = _transport_errors()
_TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}


_CONTEXT_OVERFLOW = (
    "exceed context window",      # llama-cpp-python
    "maximum context length",     # OpenAI and compatible servers
    "context_length_exceeded",
    "prompt is too long",         # Anthropic
    "context length",             # Ollama and others
)


def context_hint(cause: str) -> str:
    """``cause``, with what to do when it says the prompt does not fit the context."""
    if not any(s in cause.lower() for s in _CONTEXT_OVERFLOW):
        return cause
    return (f"{cause}. The prompt does not fit the model's context: raise the provider's "
            "`n_ctx` (llama_cpp; the embedded model takes up to 32768) or use a model with a "
            "longer context, or shorten the prompts (`translator.memory: false`, "
            "`adapter.memory: false`, a smaller `source.top_k`)")


class LLMError(RuntimeError):
    """A model call failed for good: names agent, provider, model and the cause.

    Attributes:
        call: the failed call's record (also sent to the transcript), when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        agent: str = "",
        provider: str = "",
        model: str = "",
        call: LLMCall | None = None,
    ) -> None:
        where = f"agent {agent!r}, provider {provider!r}, model {model!r}"
        super().__init__(scrub_text(f"{where}: {message}"))
        self.agent = agent
        self.provider = provider
        self.model = model
        self.call = call


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _one_transient(exc: BaseException) -> bool:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, ConnectionError)):
        return True
    if isinstance(exc, _TRANSPORT_ERRORS):
        return True
    for name in ("openai", "anthropic"):  # only if loaded: else exc cannot be theirs
        sdk = sys.modules.get(name)
        if sdk is not None and isinstance(exc, (sdk.APITimeoutError, sdk.APIConnectionError)):
            return True
    status = _status(exc)
    return status in _TRANSIENT_STATUS


def is_transient(exc: BaseException) -> bool:
    """True for timeouts, 429, 5xx and dropped connections (also when wrapped once)."""
    if isinstance(exc, LLMError):
        return False
    return _one_transient(exc) or (exc.__cause__ is not None and _one_transient(exc.__cause__))


def retry_after_s(exc: BaseException) -> float | None:
    """The server's ``Retry-After`` in seconds, when the error carries one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
