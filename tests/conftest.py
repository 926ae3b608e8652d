"""Shared pytest fixtures."""

from __future__ import annotations

import pytest

FAKE_OPENAI_KEY = "sk-test-fake-openai-0123456789abcdef"
FAKE_ANTHROPIC_KEY = "sk-ant-test-fake-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_remote_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches a network model by accident (cf. pydantic-ai's
    ALLOW_MODEL_REQUESTS): provider clients for non-loopback endpoints are refused,
    and the usual key variables hold fakes, so a real key is never sent."""
    from lapt.agents.providers import _build

    monkeypatch.setattr(_build, "allow_remote_models", False)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_ANTHROPIC_KEY)


@pytest.fixture
def allow_remote_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt a test in to building clients for remote endpoints (keys stay fake)."""
    from lapt.agents.providers import _build

    monkeypatch.setattr(_build, "allow_remote_models", True)
