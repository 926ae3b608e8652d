"""Typed provider configs: one pydantic model per provider, joined by ``provider``.

Example:
    >>> cfg = parse_provider_config({"provider": "openai", "model": "gpt-4o-mini"})
    >>> cfg.json_mode
    'json_schema'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

__all__ = [
    "SMALL_ANSWERS",
    "AnswerSize",
    "AnthropicConfig",
    "FunctionConfig",
    "LlamaCppConfig",
    "ManualConfig",
    "ModelInfoConfig",
    "OllamaConfig",
    "OpenAIConfig",
    "ProviderConfig",
    "ReplayConfig",
    "is_loopback_url",
    "parse_provider_config",
]

OPENAI_HOST = "api.openai.com"


def is_loopback_url(url: str | None) -> bool:
    """True when ``url`` points at this machine (localhost, 127.0.0.0/8, ::1)."""
    if not url:
        return False
    host = urlparse(url if "://" in url else f"http://{url}").hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


class AnswerSize(BaseModel):
    """How much an agent's model may write: the bounds of the answer schemas it is shown
    (and, with constrained decoding, held to). A capable model needs room to say what it
    saw; a tiny local model needs tight bounds so that it cannot ramble."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    principles: int = Field(default=8, ge=1, le=16)
    """At most this many principles in an answer."""
    statement_chars: int = Field(default=600, ge=40, le=2000)
    """Characters per principle."""
    text_chars: int = Field(default=1500, ge=80, le=4000)
    """Characters of each free-text step (information flow, patterns, observations)."""


SMALL_ANSWERS = AnswerSize(principles=3, statement_chars=120, text_chars=200)
"""The bounds for a tiny local model (the embedded Gemma 3 270M)."""


def check_url(url: str | None) -> str | None:
    """``url`` unless it carries a credential (``user:pass@`` or a key in the query),
    which would end up in config.yaml: those belong in the variable ``api_key_env``."""
    if url is None:
        return url
    parts = urlparse(url if "://" in url else f"http://{url}")
    secret_query = any(k.lower().replace("-", "_") in ("api_key", "key", "token", "apikey",
                                                          "access_token", "password")
                       for k, _, _ in (q.partition("=") for q in parts.query.split("&") if q))
    if parts.username or parts.password or secret_query:
        raise ValueError("the URL carries a credential (user:password@ or a key in the query), "
                         "which would be written to config.yaml; remove it and put the key in "
                         "the environment variable that api_key_env names")
    return url


class _Base(BaseModel):
    """Fields every provider shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    """Model name sent to the provider and written in every record."""

    @model_validator(mode="before")
    @classmethod
    def _no_inline_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(k in data for k in ("api_key", "key", "token")):
            raise ValueError("a key is never written in a config; put it in an environment "
                             "variable and name that variable in api_key_env (e.g. api_key_env: "
                             "OPENAI_API_KEY)")
        return data
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    """Upper bound on answer tokens; None means the provider's default."""
    timeout_s: float | None = Field(default=None, gt=0)
    """Per-attempt timeout; a timed-out attempt is retried like any transient error."""
    max_retries: int = Field(default=4, ge=0)
    """Retries of transient errors (timeouts, 429, 5xx, dropped connections)."""
    retry_initial_s: float = Field(default=1.0, ge=0)
    """First backoff wait; doubles each retry up to ``retry_max_s``."""
    retry_max_s: float = Field(default=30.0, ge=0)
    seed: int | None = None
    answer_size: AnswerSize | None = None
    """Bounds of this model's answers; None = roomy (8 principles of 600 characters),
    or tight for ``llama_cpp`` (3 of 120), whose models are small."""

    def answer_limits(self) -> AnswerSize:
        """The answer bounds in force for this provider."""
        return self.answer_size or AnswerSize()


class ModelInfoConfig(BaseModel):
    """AutoGen ``ModelInfo`` for model names AutoGen does not know (local servers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str = "unknown"
    vision: bool = False
    function_calling: bool = False
    json_output: bool = True
    structured_output: bool = True

    def to_autogen(self) -> dict[str, Any]:
        """Return the ``ModelInfo`` dict AutoGen clients expect."""
        return self.model_dump()


class LlamaCppConfig(_Base):
    """A local GGUF model run in-process by llama-cpp-python, output constrained by schema."""

    provider: Literal["llama_cpp"] = "llama_cpp"
    model: str = "gemma-3-270m-q4_k_m"
    model_path: Path | None = None
    """GGUF file; None means the embedded Gemma 3 270M (see ``embedded_model_path``)."""
    n_ctx: int = Field(default=16384, gt=0)
    n_threads: int | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=512, gt=0)
    extra_buffers: bool | None = None
    """llama.cpp's extra CPU buffer types (AMX, weight repacking). None: on where a
    one-off test batch in a child process shows they run (a VM may advertise AMX that
    it cannot run, and llama.cpp then dies with SIGILL)."""
    prompt_cache: bool = True
    """Keep llama.cpp's state after a long prompt (2,048 tokens or more) on disk, in the
    lapt cache's ``prompt-cache/`` (2 GiB at most), so that a prompt seen before (the
    Analyst's source archive, in every session) is not evaluated again."""

    def answer_limits(self) -> AnswerSize:
        return self.answer_size or SMALL_ANSWERS


class OpenAIConfig(_Base):
    """OpenAI or any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio)."""

    provider: Literal["openai"] = "openai"
    base_url: Annotated[str | None, AfterValidator(check_url)] = None
    """None means api.openai.com."""
    api_key_env: str = "OPENAI_API_KEY"
    """NAME of the environment variable holding the key; a local server may lack it."""
    json_mode: Literal["json_schema", "json_object", "none"] | None = None
    """How to ask for JSON; default json_schema on api.openai.com, json_object elsewhere."""
    model_info: ModelInfoConfig | None = None
    """Needed for model names AutoGen does not know; a default is used when omitted."""

    @model_validator(mode="after")
    def _default_json_mode(self) -> OpenAIConfig:
        if self.json_mode is None:
            official = self.base_url is None or OPENAI_HOST in self.base_url
            object.__setattr__(self, "json_mode", "json_schema" if official else "json_object")
        return self

    @property
    def is_local(self) -> bool:
        """True for a server on this machine."""
        return is_loopback_url(self.base_url)


class AnthropicConfig(_Base):
    """Anthropic's Messages API (JSON by instruction; parsed and validated by us)."""

    provider: Literal["anthropic"] = "anthropic"
    api_key_env: str = "ANTHROPIC_API_KEY"
    base_url: Annotated[str | None, AfterValidator(check_url)] = None
    model_info: ModelInfoConfig | None = None


class OllamaConfig(_Base):
    """An Ollama server; the schema is sent as Ollama's ``format``."""

    provider: Literal["ollama"] = "ollama"
    host: Annotated[str, AfterValidator(check_url)] = "http://127.0.0.1:11434"
    model_info: ModelInfoConfig | None = None


class ReplayConfig(_Base):
    """Answers each agent's calls, in order, from a recorded transcript."""

    provider: Literal["replay"] = "replay"
    model: str = "replay"
    transcript: Path
    """A run folder or its ``transcript.jsonl``."""
    strict: bool = True
    """Raise when a prompt differs from the recorded one (else only warn)."""


class ManualConfig(_Base):
    """A person answers: the prompt is shown, the answer typed or dropped in a folder."""

    provider: Literal["manual"] = "manual"
    model: str = "manual"
    answers_dir: Path | None = None
    """Read ``<agent>-<n>.json`` (n counts from 1 per agent) instead of the terminal."""
    wait_s: float = Field(default=0.0, ge=0)
    """How long to wait for a missing answer file before failing."""
    timeout_s: float | None = None


class FunctionConfig(_Base):
    """Test double: answers from a Python callable or a list (not for YAML).

    Each answer is a string, a dict (sent as JSON) or an exception instance (raised,
    e.g. ``asyncio.TimeoutError()`` to exercise retries). ``fn(agent, messages, schema)``
    returns one such answer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    provider: Literal["function"] = "function"
    model: str = "function"
    answers: Sequence[str | dict[str, Any] | BaseException] = ()
    fn: Callable[..., Any] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @model_validator(mode="after")
    def _needs_source(self) -> FunctionConfig:
        if self.fn is None and not self.answers:
            raise ValueError("function provider needs `answers` or `fn`")
        return self


ProviderConfig = Annotated[
    LlamaCppConfig
    | OpenAIConfig
    | AnthropicConfig
    | OllamaConfig
    | ReplayConfig
    | ManualConfig
    | FunctionConfig,
    Field(discriminator="provider"),
]
"""Any provider config; ``provider`` picks the model."""

_ADAPTER: TypeAdapter[ProviderConfig] = TypeAdapter(ProviderConfig)


def parse_provider_config(data: dict[str, Any] | BaseModel) -> ProviderConfig:
    """Validate a mapping (e.g. from YAML) into a provider config.

    Raises:
        pydantic.ValidationError: naming the bad field; an unknown ``provider`` lists
            the valid ones.
    """
    if isinstance(data, _Base):
        return data  # type: ignore[return-value]
    return _ADAPTER.validate_python(data)
