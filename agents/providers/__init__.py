"""LLM providers: typed configs, one ``LLM`` client per agent, call records.

Example:
    >>> from lapt.agents.providers import build_llm
    >>> llm = build_llm({"provider": "llama_cpp"})            # doctest: +SKIP
    >>> call = await llm.complete("analyst", messages, Principles)  # doctest: +SKIP
    >>> call.parsed or call.error                             # doctest: +SKIP
"""

from __future__ import annotations

from ._errors import LLMError, is_transient
from ._llama import embedded_model_path
from ._local import LocalClient
from ._manual import answer_file
from ._parsing import extract_json, parse_answer
from ._replay import ReplayError
from ._secrets import register_secret_env, scrub, scrub_text
from .client import LLM, ChatModel, Sink, build_llm, to_llm_messages
from .config import (
    SMALL_ANSWERS,
    AnswerSize,
    AnthropicConfig,
    FunctionConfig,
    LlamaCppConfig,
    ManualConfig,
    ModelInfoConfig,
    OllamaConfig,
    OpenAIConfig,
    ProviderConfig,
    ReplayConfig,
    is_loopback_url,
    parse_provider_config,
)
from .records import LLMCall, RetryRecord

__all__ = [
    "LLM",
    "SMALL_ANSWERS",
    "AnswerSize",
    "ChatModel",
    "AnthropicConfig",
    "FunctionConfig",
    "LLMCall",
    "LLMError",
    "LocalClient",
    "LlamaCppConfig",
    "ManualConfig",
    "ModelInfoConfig",
    "OllamaConfig",
    "OpenAIConfig",
    "ProviderConfig",
    "ReplayConfig",
    "ReplayError",
    "RetryRecord",
    "Sink",
    "answer_file",
    "build_llm",
    "register_secret_env",
    "scrub",
    "scrub_text",
    "is_loopback_url",
    "embedded_model_path",
    "extract_json",
    "is_transient",
    "parse_answer",
    "parse_provider_config",
    "to_llm_messages",
]
