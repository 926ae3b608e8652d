"""SIGKILL at many points of a run, for every provider kind that answers without a
remote model (scripted, manual answer files, replay, and the real OpenAI, Anthropic and
Ollama clients against a loopback server): each resumed run equals the uninterrupted one, with no evaluation
repeated or lost.

The killed run is a forked child that sends itself SIGKILL right before (odd points) or
right after (even points) its k-th write to the run folder, the write torn in half on
some points; the parent resumes it in-process.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from lapt.agents import RunDir, load_config, run_session
from lapt.agents import rundir as rundir_module
from lapt.agents import transcript as transcript_module
from lapt.agents.providers import FunctionConfig, build_llm

from .scripted import LoopbackLLM, adapter_answer, analyst_answer, translator_answer

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")]

OPS = ["nor_conv_3x3", "nor_conv_1x1"]
POINTS = 20


def _answer(agent: str, messages: list, schema: Any) -> Any:
    """A stateless model: the same prompt always gets the same answer (a resumed run
    asks a new instance, as a real deterministic model would be asked again)."""
    if agent == "analyst":
        return {**analyst_answer(OPS), "layers": translator_answer(OPS)["layers"]}
    if agent == "translator":
        on_cifar100 = "task cifar100" in messages[-1]["content"]
        return translator_answer(["nor_conv_3x3", "skip_connect" if on_cifar100 else
                                  "nor_conv_1x1"])
    return adapter_answer(OPS)


def _config(tmp: Path, provider: dict[str, Any]) -> Any:
    return load_config({
        "name": "kill", "space": "nb201", "source": {"task": "ImageNet16-120", "top_k": 10},
        "targets": ["cifar10", "cifar100"], "out_dir": str(tmp),
        "search": {"budget": 16, "iterations": 3, "initial": 6, "adapt_every": 4,
                   "population": 4, "tournament": 2},
        "translator": {"max_ops_per_layer": 2}, "providers": {"default": provider}})


def _llms(kind: str) -> dict[str, Any] | None:
    if kind != "function":
        return None
    return {a: build_llm(FunctionConfig(fn=_answer))
            for a in ("analyst", "translator", "adapter")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> RunDir:
    tmp = tmp_path_factory.mktemp("reference")
    res = run_session(_config(tmp, {"provider": "manual"}), llms=_llms("function"))
    return RunDir(Path(res.run_dir))


def _prepare(kind: str, tmp: Path, reference: RunDir) -> tuple[Any, RunDir | None]:
    """The config (and the run replayed) of one provider kind."""
    if kind == "manual":  # the reference's answers, as files a person would have written
        answers = tmp / "answers"
        counts: dict[str, int] = {}
        for call in reference.records("llm_call"):
            n = counts[call["agent"]] = counts.get(call["agent"], 0) + 1
            folder = answers / "killed"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{call['agent']}-{n}.json").write_text(call["raw"])
        return _config(tmp / "runs", {"provider": "manual", "answers_dir": str(answers)}), None
    if kind == "replay":
        return _config(tmp / "runs", {"provider": "manual"}), reference
    if kind == "openai":  # the real clients, over HTTP, to a server in this process
        return _config(tmp / "runs", {"provider": "openai", "model": "fake-local",
                                      "base_url": _SERVER.url + "/v1",
                                      "json_mode": "json_object", "timeout_s": 10}), None
    if kind == "llama_cpp":  # the embedded model as configured by default (prompt cache on)
        return _config(tmp / "runs", {
            "provider": "llama_cpp", "temperature": 0.0, "seed": 0, "max_tokens": 96,
            "n_threads": 1}), None
    if kind == "anthropic":
        return _config(tmp / "runs", {"provider": "anthropic", "model": "claude-sonnet-4-5",
                                      "base_url": _SERVER.url, "timeout_s": 10}), None
    if kind == "ollama":
        return _config(tmp / "runs", {"provider": "ollama", "model": "llama3.2",
                                      "host": _SERVER.url, "timeout_s": 10}), None
    return _config(tmp / "runs", {"provider": "manual"}), None


def _run_killed(cfg: Any, kind: str, replay: RunDir | None, k: int) -> RunDir:
    """Fork a child that runs the session and SIGKILLs itself at its k-th write."""
    run = RunDir.create(cfg, "killed")
    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        try:
            writes = {"n": 0}

            def counted(write):  # type: ignore[no-untyped-def]
                def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
                    writes["n"] += 1
                    if writes["n"] == k and k % 2:
                        os.kill(os.getpid(), signal.SIGKILL)
                    out = write(*args, **kwargs)
                    if writes["n"] == k:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return out
                return wrapper

            transcript_module.Transcript.write = counted(  # type: ignore[method-assign]
                transcript_module.Transcript.write)
            rundir_module.RunDir.append_evaluation = counted(  # type: ignore[method-assign]
                rundir_module.RunDir.append_evaluation)
            run_session(cfg, run=run, replay_from=replay, llms=_llms(kind))
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (k, status)
    if k % 4 == 0:  # a write torn in half by the kill
        for name in ("transcript.jsonl", "evaluations.jsonl"):
            f = run.path / name
            if f.exists():
                with open(f, "a", encoding="utf-8") as fh:
                    fh.write('{"seq": 99, "kind": "mess')
    return run


def _summary(rd: RunDir) -> dict[str, Any]:
    res = rd.results()
    assert res is not None
    return {t: (v.arch, v.val, v.n_evals, v.iterations) for t, v in res.tasks.items()}


_SERVER: Any = None


LLAMA = pytest.param("llama_cpp", marks=[pytest.mark.llm, pytest.mark.skipif(
    not os.environ.get("LAPT_KILL_LLAMA"), reason="20 kills of the real model take minutes; "
                                                  "set LAPT_KILL_LLAMA=1")])


@pytest.mark.parametrize("kind", ["function", "manual", "replay", "openai", "anthropic",
                                  "ollama", LLAMA])
def test_kill_anywhere_then_resume_equals_the_uninterrupted_run(tmp_path, reference, kind):
    if kind == "llama_cpp":  # its own uninterrupted run: the real model's answers
        tmp = tmp_path / "whole"
        cfg, _ = _prepare(kind, tmp, reference)
        reference = RunDir(Path(run_session(cfg).run_dir))
    global _SERVER
    if kind in ("openai", "anthropic", "ollama") and _SERVER is None:
        _SERVER = LoopbackLLM(lambda agent, messages: _answer(agent, messages, None))
    whole = _summary(reference)
    ref_evals = [(e.task, e.arch) for e in reference.evaluations()]
    total = len(reference.records()) + len(ref_evals)
    points = sorted({max(1, round(i * (total - 1) / (POINTS - 1))) for i in range(POINTS)})
    assert len(points) >= POINTS
    for k in points:
        tmp = tmp_path / f"k{k}"
        cfg, replay = _prepare(kind, tmp, reference)
        run = _run_killed(cfg, kind, replay, k)
        assert not run.finished
        before = [(e.task, e.arch) for e in run.evaluations()]
        run_session(cfg, run=run, resume=True, replay_from=replay, llms=_llms(kind))
        assert _summary(run) == whole, (kind, k)
        after = [(e.task, e.arch) for e in run.evaluations()]
        assert after[: len(before)] == before, (kind, k)      # nothing lost
        assert after == ref_evals, (kind, k)                   # nothing repeated or missing
        calls = run.records("llm_call")
        assert [c["raw"] for c in calls] == [c["raw"] for c in reference.records("llm_call")]
