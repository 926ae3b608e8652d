"""Long prompts' llama.cpp state kept on disk, so a prompt seen before is not evaluated again.

The Analyst's prompt (the source task's best architectures, about 5,400 tokens) is the
same in every session and seed on that source task, and evaluating it takes about a
minute on one CPU thread. After a call whose prompt has at least ``min_tokens`` tokens,
:class:`PromptCache` writes the context's state (KV cache and the tokens it holds) with
llama.cpp's ``llama_state_save_file``. Before a call, the saved state that shares the
longest prefix with the new prompt is loaded when it beats what the context already
holds; llama-cpp-python's ``generate`` then evaluates only the rest of the prompt (at
least its last token, for fresh logits). The answer is the same as without the cache:
the same KV values, only not recomputed.

Entries are ``<sha>.state`` (llama.cpp's file) and ``<sha>.tokens.npy`` (its tokens, for
the prefix search), written atomically, so several processes can share a folder; the
least recently used entries go once the folder is over ``max_bytes``. A folder is for one
model file and context size (see :func:`cache_folder`); an entry llama.cpp refuses to
load is deleted and the prompt is evaluated as usual.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PromptCache", "cache_folder"]

log = logging.getLogger("lapt.agents")


def cache_folder(root: Path, model_path: Path, n_ctx: int) -> Path:
    """The folder for one model file (by path, size and mtime) and context size."""
    st = Path(model_path).stat()
    key = hashlib.sha1(f"{Path(model_path).resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return Path(root) / f"{Path(model_path).stem}-{key.hexdigest()[:12]}-ctx{n_ctx}"


def _common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n


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
        """Route ``llm.generate`` through the cache; returns ``llm`` (``llm.prompt_cache``)."""
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
        held = _common_prefix(np.asarray(llm.input_ids[: llm.n_tokens], np.int64), want)
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
        n = int(count.value)
        llm.input_ids[:n] = np.ctypeslib.as_array(tokens)[:n]
        llm.n_tokens = n
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
