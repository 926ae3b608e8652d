"""Build an AutoGen client, and the per-call arguments, from a provider config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autogen_core.models import ChatCompletionClient
from pydantic import BaseModel

from ._errors import LLMError
from ._secrets import register_secret_env
from .config import (
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
)

__all__ = ["Backend", "allow_remote_models", "build_backend"]

LOCAL_PLACEHOLDER_KEY = "sk-no-key-required"

allow_remote_models = True
"""When False (tests), building a client for a non-loopback endpoint is refused."""

RequestArgs = Callable[[type[BaseModel]], tuple[Any, dict[str, Any]]]


@dataclass
class Backend:
    """An AutoGen client plus how to ask it for one schema: ``(json_output, extra_args)``."""

    client: ChatCompletionClient
    request_args: RequestArgs


def _refuse_remote(config: ProviderConfig, url: str | None) -> None:
    """Refuse non-loopback endpoints when disabled (called before any SDK import)."""
    if not allow_remote_models and not is_loopback_url(url):
        raise LLMError(
            f"remote model requests are disabled here (endpoint {url or 'provider default'}); "
            "use a local endpoint or opt in with the `allow_remote_models` fixture",
            provider=config.provider,
            model=config.model,
        )


def _model_info(
    config: OpenAIConfig | AnthropicConfig | OllamaConfig, known: Callable[[str], Any]
) -> dict[str, Any] | None:
    """Explicit ``model_info`` for names AutoGen does not know (else None: AutoGen's)."""
    if config.model_info is not None:
        return config.model_info.to_autogen()
    try:
        info = known(config.model)
        if info and info.get("family") != "FAILED":
            return None
    except (KeyError, ValueError):
        pass
    return ModelInfoConfig().to_autogen()


def _api_key(config: OpenAIConfig | AnthropicConfig, local: bool) -> str:
    key = register_secret_env(config.api_key_env)
    if key:
        return key
    if local:
        return LOCAL_PLACEHOLDER_KEY
    raise LLMError(
        f"environment variable {config.api_key_env} (api_key_env) is not set",
        provider=config.provider,
        model=config.model,
    )


def _sampling(config: ProviderConfig) -> dict[str, Any]:
    args: dict[str, Any] = {"temperature": config.temperature}
    if config.max_tokens is not None:
        args["max_tokens"] = config.max_tokens
    if config.seed is not None:
        args["seed"] = config.seed
    return args


def _openai(config: OpenAIConfig) -> Backend:
    _refuse_remote(config, config.base_url or "https://api.openai.com/v1")
    from autogen_ext.models.openai import OpenAIChatCompletionClient
    from autogen_ext.models.openai._model_info import get_info

    kwargs: dict[str, Any] = {
        "model": config.model,
        "api_key": _api_key(config, config.is_local),
        "max_retries": 0,  # retries are ours (tenacity), so they are recorded
        "include_name_in_message": False,
    }
    client = OpenAIChatCompletionClient(**_with_endpoint(kwargs, config, get_info))
    official = config.base_url is None or "api.openai.com" in config.base_url
    sampling = _sampling(config)

    def request_args(schema: type[BaseModel]) -> tuple[Any, dict[str, Any]]:
        args = dict(sampling)
        if config.json_mode == "json_schema":
            args["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema.__name__,
                    "schema": schema.model_json_schema(),
                    "strict": False,
                },
            }
        elif config.json_mode == "json_object":
            fmt: dict[str, Any] = {"type": "json_object"}
            if not official:  # llama.cpp server / vLLM take the schema here
                fmt["schema"] = schema.model_json_schema()
            args["response_format"] = fmt
        return None, args

    return Backend(client, request_args)


def _with_endpoint(kwargs: dict[str, Any], config: Any, get_info: Any) -> dict[str, Any]:
    """``kwargs`` plus the optional base URL, timeout and model info of ``config``."""
    if config.base_url:
        kwargs["base_url"] = config.base_url
    if config.timeout_s:
        kwargs["timeout"] = config.timeout_s
    info = _model_info(config, get_info)
    if info is not None:
        kwargs["model_info"] = info
    return kwargs


def _anthropic(config: AnthropicConfig) -> Backend:
    _refuse_remote(config, config.base_url or "https://api.anthropic.com")
    from autogen_ext.models.anthropic import AnthropicChatCompletionClient
    from autogen_ext.models.anthropic._model_info import get_info

    kwargs: dict[str, Any] = {
        "model": config.model,
        "api_key": _api_key(config, is_loopback_url(config.base_url)),
        "max_retries": 0,
        "max_tokens": config.max_tokens or 4096,
        "temperature": config.temperature,
    }
    client = AnthropicChatCompletionClient(**_with_endpoint(kwargs, config, get_info))
    return Backend(client, lambda schema: (None, {}))  # JSON by instruction; we validate


def _ollama(config: OllamaConfig) -> Backend:
    _refuse_remote(config, config.host)
    from autogen_ext.models.ollama import OllamaChatCompletionClient
    from autogen_ext.models.ollama._model_info import get_info

    options: dict[str, Any] = {"temperature": config.temperature}
    if config.max_tokens is not None:
        options["num_predict"] = config.max_tokens
    if config.seed is not None:
        options["seed"] = config.seed
    kwargs: dict[str, Any] = {"model": config.model, "host": config.host, "options": options}
    if config.timeout_s:
        kwargs["timeout"] = config.timeout_s
    info = _model_info(config, get_info)
    if info is not None:
        kwargs["model_info"] = info
    client = OllamaChatCompletionClient(**kwargs)
    return Backend(client, lambda schema: (schema, {}))  # sent as Ollama's `format`


def build_backend(config: ProviderConfig) -> Backend:
    """The AutoGen client for ``config`` (keys read from their env vars now)."""
    if isinstance(config, LlamaCppConfig):
        from ._llama import build_llama_client

        sampling = _sampling(config)
        return Backend(build_llama_client(config), lambda schema: (schema, dict(sampling)))
    if isinstance(config, OpenAIConfig):
        return _openai(config)
    if isinstance(config, AnthropicConfig):
        return _anthropic(config)
    if isinstance(config, OllamaConfig):
        return _ollama(config)
    if isinstance(config, ReplayConfig):
        from ._replay import ReplayClient

        return Backend(ReplayClient(config), lambda schema: (schema, {}))
    if isinstance(config, ManualConfig):
        from ._manual import ManualClient

        return Backend(ManualClient(config), lambda schema: (schema, {}))
    if isinstance(config, FunctionConfig):
        from ._local import FunctionClient

        return Backend(FunctionClient(config), lambda schema: (schema, {}))
    raise TypeError(f"not a provider config: {type(config).__name__}")  # pragma: no cover
