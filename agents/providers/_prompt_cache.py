"""llama.cpp state reused between calls without changing any answer.

**Answers that depend on the prompt alone.** llama.cpp's numbers for a token depend on
how it was evaluated: a token decoded one at a time (an answer being generated) gets
slightly different keys and values than the same token inside a prompt batch, and that
can flip a greedy choice later. llama-cpp-python reuses whatever prefix the context
holds, answers included, so an answer could depend on the calls before it: a resumed
or replayed run, whose earlier calls were read from its transcript, could then answer
differently from the uninterrupted run. :func:`prompt_only_reuse` reuses a prefix only
as far as it was evaluated as a prompt, cut to a multiple of the batch size, so every
token of a prompt is evaluated in the same batches as from an empty context: the answer
is a function of the prompt alone, whatever ran before.

**Long prompts kept on disk.** The Analyst's prompt (the source task's best
architectures, about 5,400 tokens) is the same in every session and seed on that source
task, and evaluating it takes about a minute on one CPU thread. After a call whose
prompt has at least ``min_tokens`` tokens, :class:`PromptCache` writes the context's
state with llama.cpp's ``llama_state_save_file``, labelled with the prompt's reusable
prefix (the same rule). Before a call, the saved state that shares the longest prefix
with the new prompt is loaded when it beats what the context already holds; the rest of
the prompt is evaluated as usual.

Entries are ``<sha>.state`` (llama.cpp's file) and ``<sha>.tokens.npy`` (its reusable
tokens, for the prefix search), written atomically, so several processes can share a
folder; the least recently used entries go once the folder is over ``max_bytes``. A
folder is for one model file and context size (see :func:`cache_folder`); an entry
llama.cpp refuses to load is deleted and the prompt is evaluated as usual.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PromptCache", "cache_folder", "prompt_only_reuse"]

log = logging.getLogger("lapt.agents")


def cache_folder(root: Path, model_path: Path, n_ctx: int) -> Path:
    """The folder for one model file (by path, size and mtime) and context size, in this
    module's entry format (v2: the reusable prefix only; v1 entries are never read)."""
    st = Path(model_path).stat()
    key = hashlib.sha1(f"{Path(model_path).resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return Path(root) / f"{Path(model_path).stem}-{key.hexdigest()[:12]}-ctx{n_ctx}-v2"


def _common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n


def _reusable(llm: Any) -> int:
    """How many leading tokens the context holds as evaluated in whole prompt batches."""
    return min(int(getattr(llm, "lapt_reusable", 0)), int(llm.n_tokens))


def prompt_only_reuse(llm: Any) -> Any:
    """Route ``llm.generate`` so that each answer depends on its prompt alone (see the
    module); returns ``llm``. Reuses at most the prompt part of what the context holds,
    in whole batches of ``llm.n_batch`` tokens from the start, and never all of a prompt
    (its last batch is evaluated again, as from an empty context)."""
    generate = llm.generate
    llm.lapt_reusable = 0

    def aligned_generate(tokens: Any, *args: Any, **kwargs: Any) -> Any:
        tokens = list(tokens)
        held = np.asarray(llm.input_ids[: llm.n_tokens], np.int64)
        keep = min(_common_prefix(held, np.asarray(tokens, np.int64)), _reusable(llm),
                   len(tokens) - 1)
        keep -= keep % llm.n_batch
        if keep > 0:
            llm._ctx.kv_cache_seq_rm(-1, keep, -1)
            llm.n_tokens = keep
        else:
            llm.reset()
        whole = len(tokens) - len(tokens) % llm.n_batch
        llm.lapt_reusable = 0  # until the prompt is evaluated
        try:
            yield from generate(tokens, *args, **kwargs)
        except GeneratorExit:  # the caller stopped at an end token or max_tokens
            llm.lapt_reusable = whole
            raise
        llm.lapt_reusable = whole

    llm.generate = aligned_generate
    return llm


class PromptCache:
    """Saves and restores a ``llama_cpp.Llama``'s state for long prompts; see the module."""

    def __init__(self, folder: Path, min_tokens: int = 2048, max_bytes: int = 2 << 30,
                 min_gain: int = 256) -> None:
        self.folder = Path(folder)
        self.min_tokens = min_tokens
        self.max_bytes = max_bytes
        self.min_gain = min_gain
        """Load a saved state only when it spares at least this many tokens."""
        self.stats = {"restored": 0, "saved": 0, "reused_tokens": 0, "bad": 0,
                      "write_errors": 0}

    def attach(self, llm: Any) -> Any:
        """Route ``llm.generate`` through the cache; returns ``llm`` (``llm.prompt_cache``).
        Reuse follows :func:`prompt_only_reuse`, which this attaches first if needed."""
        if not hasattr(llm, "lapt_reusable"):
            prompt_only_reuse(llm)
        generate = llm.generate

        def cached_generate(tokens: Any, *args: Any, **kwargs: Any) -> Any:
            tokens = list(tokens)
            self.restore(llm, tokens)
            try:
                yield from generate(tokens, *args, **kwargs)
            except GeneratorExit:  # the caller stopped at an end token or max_tokens
                self.save(llm, tokens)
                raise
            self.save(llm, tokens)

        llm.generate = cached_generate
        llm.prompt_cache = self
        return llm

    def _entries(self) -> list[Path]:
        return list(self.folder.glob("*.state")) if self.folder.is_dir() else []

    def restore(self, llm: Any, prompt: list[int]) -> int:
        """Load the best saved state for ``prompt`` into ``llm``; the tokens it spares."""
        if len(prompt) < self.min_tokens:
            return 0
        want = np.asarray(prompt, dtype=np.int64)
        held = _common_prefix(np.asarray(llm.input_ids[: _reusable(llm)], np.int64), want)
        best, best_n = None, held + self.min_gain - 1
        for state in self._entries():
            try:
                n = _common_prefix(np.load(state.with_suffix(".tokens.npy")), want)
            except (OSError, ValueError):
                continue  # being written or evicted by another process
            if n > best_n:
                best, best_n = state, n
        if best is None:
            return 0
        import llama_cpp.llama_cpp as C

        tokens = (C.llama_token * llm.n_ctx())()
        count = ctypes.c_size_t(0)
        ok = os.path.exists(best) and C.llama_state_load_file(
            llm._ctx.ctx, str(best).encode(), tokens, llm.n_ctx(), ctypes.byref(count))
        if not ok:
            self.stats["bad"] += 1
            llm.reset()
            llm._ctx.kv_cache_clear()  # whatever was half loaded
            self._drop(best)
            return 0
        n = int(count.value)  # the saved reusable prefix (see _save)
        llm.input_ids[:n] = np.ctypeslib.as_array(tokens)[:n]
        llm.n_tokens = n
        llm.lapt_reusable = n
        llm._requires_eval = True
        os.utime(best)  # recently used
        self.stats["restored"] += 1
        self.stats["reused_tokens"] += best_n
        return best_n

    def save(self, llm: Any, prompt: list[int]) -> None:
        """Write ``llm``'s state after a long ``prompt`` (once per distinct prompt).

        A folder that cannot be written (read-only, full) costs the speed-up, not the
        answer: the error is logged once and the call goes on.
        """
        try:
            self._save(llm, prompt)
        except OSError as exc:
            if not self.stats["write_errors"]:
                log.warning("prompt cache %s not written (%s); prompts are evaluated as "
                            "usual", self.folder, exc)
            self.stats["write_errors"] += 1

    def _save(self, llm: Any, prompt: list[int]) -> None:
        if len(prompt) < self.min_tokens or llm.n_tokens < len(prompt):
            return
        held = np.asarray(llm.input_ids[: llm.n_tokens], dtype=np.int32)
        if _common_prefix(held, np.asarray(prompt, np.int32)) < len(prompt):
            return
        held = held[: _reusable(llm)]  # the answer's tokens are not reused (see the module)
        if not len(held):
            return
        name = hashlib.sha1(np.asarray(prompt, np.int32).tobytes()).hexdigest()[:24]
        state = self.folder / f"{name}.state"
        if state.exists():
            os.utime(state)
            return
        import llama_cpp.llama_cpp as C

        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{name}.{os.getpid()}.tmp"
        tokens = (C.llama_token * len(held))(*held.tolist())
        if not C.llama_state_save_file(llm._ctx.ctx, str(tmp).encode(), tokens, len(held)):
            tmp.unlink(missing_ok=True)
            return
        os.replace(tmp, state)
        tmp_tokens = self.folder / f".{name}.{os.getpid()}.npy"
        np.save(tmp_tokens, held)
        os.replace(tmp_tokens, state.with_suffix(".tokens.npy"))
        self.stats["saved"] += 1
        self._evict()

    def _drop(self, state: Path) -> None:
        state.with_suffix(".tokens.npy").unlink(missing_ok=True)
        state.unlink(missing_ok=True)

    def _evict(self) -> None:
        entries = []
        for state in self._entries():
            try:
                entries.append((state.stat().st_mtime, state.stat().st_size, state))
            except OSError:
                continue
        total = sum(size for _, size, _ in entries)
        for _, size, state in sorted(entries):
            if total <= self.max_bytes:
                break
            self._drop(state)
            total -= size
