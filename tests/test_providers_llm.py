"""Real models: the embedded Gemma 3 270M in-process, and behind a real
``python -m llama_cpp.server`` through the OpenAI path. Marked ``llm``; kept short
so CI runs them too."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import httpx
import pytest
from pydantic import BaseModel

from lapt.agents.providers import build_llm, embedded_model_path

pytestmark = pytest.mark.llm

PROMPT = [
    {"role": "system", "content": "You answer with one JSON object and nothing else."},
    {
        "role": "user",
        "content": (
            "In a CNN cell, which operator usually helps accuracy most: conv3x3, conv1x1, "
            "skip or pool? Should it be kept? Reply as JSON with keys op and keep."
        ),
    },
]


class Verdict(BaseModel):
    op: Literal["conv3x3", "conv1x1", "skip", "pool"]
    keep: bool


@pytest.fixture(scope="session")
def gguf() -> Path:
    return embedded_model_path()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = """
import runpy, sys
from lapt.agents.providers._llama import _model_params, extra_buffers_run
ok, _ = extra_buffers_run(sys.argv[1])  # AMX that the machine cannot run: off
params = _model_params(ok)
params.__enter__()  # for the life of this process
sys.argv = ["llama_cpp.server", "--model", *sys.argv[1:]]
runpy.run_module("llama_cpp.server", run_name="__main__")
"""


@pytest.fixture(scope="session")
def llama_server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real llama.cpp OpenAI-compatible server on 127.0.0.1; yields its base_url."""
    port = _free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    cmd = [
        sys.executable,
        "-c",
        SERVER,
        str(gguf),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_embedded_model_is_assembled_once(gguf: Path):
    assert gguf.exists() and gguf.stat().st_size > 100_000_000
    t0 = time.perf_counter()
    assert embedded_model_path() == gguf
    assert time.perf_counter() - t0 < 0.5  # reused, not re-hashed


def test_embedded_llama_cpp_answers_the_schema(gguf: Path):
    llm = build_llm({"provider": "llama_cpp", "max_tokens": 64, "seed": 0, "n_ctx": 2048})
    call = asyncio.run(llm.complete("analyst", PROMPT, Verdict))
    assert call.error is None, call.raw
    assert Verdict.model_validate(call.parsed)
    assert call.prompt_tokens > 20 and call.completion_tokens > 0
    assert llm.client.llm.prompt_cache.folder.parent.name == "prompt-cache"  # type: ignore[attr-defined]
    asyncio.run(llm.close())
    off = build_llm({"provider": "llama_cpp", "n_ctx": 512, "prompt_cache": False})
    assert not hasattr(off.client.llm, "prompt_cache")  # type: ignore[attr-defined]
    asyncio.run(off.close())


class Plan(BaseModel):
    """Many enum tokens and free strings: where a base model strays from the schema."""

    ops: list[Literal["nor_conv_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "none"]]
    note: str
    keep: bool


def test_grammar_checked_after_sampling_keeps_answers_in_the_schema(gguf: Path):
    llm = build_llm({"provider": "llama_cpp", "max_tokens": 160, "temperature": 1.2,
                     "seed": 1, "n_ctx": 2048})
    model = llm.client.llm  # type: ignore[attr-defined]
    prompt = [{"role": "user", "content": "List operators for a cell, as JSON."}]
    for _ in range(3):
        call = asyncio.run(llm.complete("translator", prompt, Plan))
        if call.error is None:
            Plan.model_validate(call.parsed)
        else:  # only a cut-off answer may fail to parse: never one outside the grammar
            assert call.completion_tokens >= 160, call.raw
    stats = model.grammar_stats
    assert stats["tokens"] > 50
    assert 0 < stats["rejected"] < stats["tokens"]  # the slow path ran, and only sometimes
    asyncio.run(llm.close())


def test_extra_buffers_probe_is_cached(gguf: Path):
    from lapt.agents.providers._llama import extra_buffers_run

    ok, detail = extra_buffers_run(gguf)
    assert (detail == "ran") if ok else ("died" in detail)
    t0 = time.perf_counter()
    assert extra_buffers_run(gguf) == (ok, detail)
    assert time.perf_counter() - t0 < 0.5  # read back, no child process


def test_openai_path_against_local_llama_server(llama_server: str, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")  # a local server needs no key
    llm = build_llm(
        {
            "provider": "openai",
            "model": "gemma-3-270m",
            "base_url": llama_server,
            "json_mode": "json_object",
            "max_tokens": 64,
            "seed": 0,
            "timeout_s": 60,
        }
    )
    call = asyncio.run(llm.complete("translator", PROMPT, Verdict))
    assert call.error is None, call.raw
    assert Verdict.model_validate(call.parsed)
    assert call.completion_tokens > 0


def test_grammar_strings_reject_raw_control_characters(gguf: Path):
    """llama-cpp-python's converter lets a raw newline into a JSON string (invalid JSON,
    seen in Adapter answers); the grammar we sample with rejects it."""
    import ctypes
    import json

    import llama_cpp
    import llama_cpp.llama_cpp as C
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    from lapt.agents.providers._grammar import strict_strings

    llm = llama_cpp.Llama(str(gguf), vocab_only=True, verbose=False)
    schema = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 50}},
              "required": ["note"]}
    loose = json_schema_to_gbnf(json.dumps(schema))
    newline = llm.tokenize(b"\n", add_bos=False, special=False)
    letter = llm.tokenize(b"a", add_bos=False, special=False)
    assert len(newline) == 1 and len(letter) == 1

    def accepts(gbnf: str, token: int) -> bool:
        sampler = C.llama_sampler_init_grammar(llm._model.vocab, gbnf.encode(), b"root")
        try:
            for t in llm.tokenize(b'{"note": "x', add_bos=False, special=False):
                C.llama_sampler_accept(sampler, t)
            one = (C.llama_token_data * 1)()
            one[0].id, one[0].logit, one[0].p = token, 1.0, 0.0
            arr = C.llama_token_data_array(data=ctypes.cast(one, C.llama_token_data_p),
                                           size=1, selected=-1, sorted=False)
            C.llama_sampler_apply(sampler, ctypes.byref(arr))
            return one[0].logit > float("-inf")
        finally:
            C.llama_sampler_free(sampler)

    assert accepts(loose, newline[0])  # the upstream hole this guards against
    assert not accepts(strict_strings(loose), newline[0])
    assert accepts(strict_strings(loose), letter[0])


def _llama(gguf: Path):
    """A bare ``llama_cpp.Llama`` loaded as lapt loads it (no extra buffers that SIGILL)."""
    import llama_cpp

    from lapt.agents.providers._llama import _extra_buffers_default, _model_params

    with _model_params(_extra_buffers_default(str(gguf))):
        return llama_cpp.Llama(str(gguf), n_ctx=2048, n_threads=2, verbose=False)


def _long_prompt(llm) -> list[int]:
    lines = [f"{i}. [['nor_conv_3x3', 0], ['skip_connect', 1], ['none', {i % 3}]] "
             f"val={70 + i / 10:.2f}" for i in range(32)]
    text = "The best cells on the source task, best first:\n" + "\n".join(lines)
    tokens = llm.tokenize((text + "\nThe common pattern is").encode())
    assert len(tokens) >= 1100
    return tokens


def test_prompt_cache_spares_a_long_prompt_in_a_new_context(gguf: Path, tmp_path: Path):
    """A second model instance (another session, seed or process) loads the saved state
    and evaluates only the prompt's last token; its greedy answer is the same."""
    from lapt.agents.providers._prompt_cache import PromptCache

    def model():
        llm = _llama(gguf)
        PromptCache(tmp_path / "cache", min_tokens=1024).attach(llm)
        evaluated: list[int] = []
        eval_ = llm.eval
        llm.eval = lambda tokens: (evaluated.append(len(tokens)), eval_(tokens))[1]
        return llm, evaluated

    first, first_evals = model()
    prompt = _long_prompt(first)
    a = first.create_completion(prompt, max_tokens=12, temperature=0.0)
    assert first.prompt_cache.stats["saved"] == 1
    assert sum(first_evals) >= len(prompt)  # nothing to restore the first time
    assert len(list((tmp_path / "cache").glob("*.state"))) == 1

    last = (len(prompt) - 1) - (len(prompt) - 1) % first.n_batch  # its last batch's start
    second, second_evals = model()
    b = second.create_completion(prompt, max_tokens=12, temperature=0.0)
    stats = second.prompt_cache.stats
    assert stats["restored"] == 1 and stats["reused_tokens"] == last
    assert second_evals[0] == len(prompt) - last  # its last batch, as from an empty context
    assert b["choices"][0]["text"] == a["choices"][0]["text"]

    # a longer prompt with the same beginning reuses the shared prefix too
    third, third_evals = model()
    third.create_completion(prompt + third.tokenize(b" that", add_bos=False),
                            max_tokens=4, temperature=0.0)
    assert third.prompt_cache.stats["restored"] == 1
    assert third_evals[0] == len(prompt) + 1 - last

    assert third.prompt_cache.stats["saved"] == 0  # the same snapshot: nothing new

    # short prompts are neither saved nor looked up
    third.create_completion(prompt[:100], max_tokens=2, temperature=0.0)
    assert third.prompt_cache.stats == {**third.prompt_cache.stats, "saved": 0,
                                        "restored": 1}


def test_prompt_cache_entry_llama_cpp_refuses_is_dropped(gguf: Path, tmp_path: Path):
    from lapt.agents.providers._prompt_cache import PromptCache

    llm = _llama(gguf)
    cache = PromptCache(tmp_path, min_tokens=1024)
    cache.attach(llm)
    prompt = _long_prompt(llm)
    llm.create_completion(prompt, max_tokens=4, temperature=0.0)
    state = next(tmp_path.glob("*.state"))
    state.write_bytes(b"not a llama.cpp state")
    fresh = _llama(gguf)
    PromptCache(tmp_path, min_tokens=1024).attach(fresh)
    out = fresh.create_completion(prompt, max_tokens=4, temperature=0.0)
    assert out["choices"][0]["text"] is not None
    assert fresh.prompt_cache.stats["bad"] == 1 and fresh.prompt_cache.stats["saved"] == 1
    assert state.exists() and state.stat().st_size > 1_000_000  # written again, whole


def test_prompt_cache_that_cannot_write_costs_no_answer(gguf: Path, tmp_path: Path, caplog):
    from lapt.agents.providers._prompt_cache import PromptCache

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    llm = _llama(gguf)
    cache = PromptCache(blocked / "cache", min_tokens=1024)
    cache.attach(llm)
    out = llm.create_completion(_long_prompt(llm), max_tokens=4, temperature=0.0)
    assert out["choices"][0]["finish_reason"] in ("stop", "length")
    assert cache.stats["write_errors"] == 1 and cache.stats["saved"] == 0
    assert "prompt cache" in caplog.text and "not written" in caplog.text


def _logits_after(llm, tokens: list[int]):
    """The logits at the end of ``tokens`` (what the first answer token is drawn from)."""
    import ctypes  # noqa: F401

    import llama_cpp.llama_cpp as C
    import numpy as np

    gen = llm.generate(tokens, temp=0.0)
    next(gen)
    out = np.ctypeslib.as_array(C.llama_get_logits_ith(llm._ctx.ctx, -1),
                                shape=(llm.n_vocab(),)).copy()
    gen.close()
    return out


def test_an_answer_depends_on_its_prompt_alone(gguf: Path, tmp_path: Path):
    """A resumed or replayed session asks its next call in a new process; the
    uninterrupted run asked it after a call whose answer the new prompt repeats (a
    conversation going on). With or without a state from the disk cache, the numbers
    must be the same bit for bit, so the answer is."""
    from itertools import islice

    import numpy as np

    from lapt.agents.providers._prompt_cache import PromptCache, prompt_only_reuse

    def cache() -> PromptCache:
        return PromptCache(tmp_path / "cache", min_tokens=1024)

    warm = prompt_only_reuse(_llama(gguf), cache())
    p1 = _long_prompt(warm)
    answer = list(islice(warm.generate(p1, temp=0.0), 24))  # decoded one at a time
    assert warm.prompt_cache.stats["saved"] == 1
    p2 = p1 + answer + warm.tokenize(b" Next, the", add_bos=False)
    after_a_call = _logits_after(warm, p2)
    alone = _logits_after(prompt_only_reuse(_llama(gguf)), p2)
    restored = prompt_only_reuse(_llama(gguf), cache())
    from_disk = _logits_after(restored, p2)
    assert restored.prompt_cache.stats["restored"] == 1
    assert np.array_equal(after_a_call, alone) and np.array_equal(from_disk, alone)
    # llama-cpp-python's own reuse keeps the answer's one-at-a-time numbers: they differ
    raw = _llama(gguf)
    list(islice(raw.generate(p1, temp=0.0), 24))
    assert not np.array_equal(_logits_after(raw, p2), alone)
