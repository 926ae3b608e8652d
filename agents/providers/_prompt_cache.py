"""llama.cpp state reused between calls without changing any answer.

**Answers that depend on the prompt alone.** llama.cpp's numbers for a token depend on
how it was evaluated, not only on the tokens before it: a token decoded one at a time
(an answer being generated) gets other keys and values than the same token inside a
prompt batch, a context loaded from a saved state lays its cache out differently from
one that computed it, and a cache cut back to a prefix keeps traces of what was cut
(measured on the embedded model: logits differ by up to 0.8, enough to flip a greedy
choice). llama-cpp-python reuses whatever prefix the context holds, so an answer could
depend on the calls before it, and a resumed or replayed run, whose earlier calls come
from its transcript, could answer differently from the uninterrupted run.

:func:`prompt_only_reuse` evaluates every prompt one way: in batches of ``n_batch``
tokens from the start, the context's state saved and loaded back after each batch.
The state before a prompt's last batch is kept as a *snapshot* (its tokens and state
bytes); a later prompt that begins with a snapshot's tokens loads it instead of
evaluating them. Nothing else is reused (never an answer's tokens, never a cache cut
back), so the answer is a function of the prompt alone, whatever ran before, in this
process or another.

**Long prompts kept on disk.** The Analyst's prompt (the source task's best
architectures, about 5,400 tokens) is the same in every session and seed on that source
task, and evaluating it takes about a minute on one CPU thread. With a
:class:`PromptCache`, the snapshots of prompts of at least ``min_tokens`` tokens are
also written to disk (llama.cpp's ``llama_state_save_file``) and read by any process.

Entries are ``<sha>.state`` (llama.cpp's file) and ``<sha>.tokens.npy`` (its tokens, for
the prefix search), written atomically, so several processes can share a folder; the
least recently used entries go once the folder is over ``max_bytes``. A folder is for
one model file and context size (see :func:`cache_folder`); an entry llama.cpp refuses
to load is deleted and the prompt is evaluated as usual.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PromptCache", "cache_folder", "prompt_only_reuse"]

log = logging.getLogger("lapt.agents")

RAM_SNAPSHOTS_BYTES = 768 << 20
"""Snapshots kept in memory per model (the most recent first; about 20 kB a token)."""


def cache_folder(root: Path, model_path: Path, n_ctx: int) -> Path:
    """The folder for one model file (by path, size and mtime) and context size, in this
    module's entry format (v3: snapshots; older entries are never read)."""
    st = Path(model_path).stat()
    key = hashlib.sha1(f"{Path(model_path).resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return Path(root) / f"{Path(model_path).stem}-{key.hexdigest()[:12]}-ctx{n_ctx}-v3"


def _is_prefix(head: np.ndarray, tokens: np.ndarray) -> bool:
    return len(head) <= len(tokens) and bool(np.array_equal(tokens[: len(head)], head))


class _Context:
    """One model's context, evaluated canonically; see the module."""

    def __init__(self, llm: Any, cache: PromptCache | None) -> None:
        self.llm, self.cache = llm, cache
        self.nb = int(llm.n_batch)
        self.snapshots: OrderedDict[bytes, tuple[np.ndarray, Any]] = OrderedDict()

    def _get(self) -> Any:
        import llama_cpp.llama_cpp as C

        ctx = self.llm._ctx.ctx
        size = C.llama_state_get_size(ctx)
        buf = (ctypes.c_uint8 * size)()
        C.llama_state_get_data(ctx, buf, size)
        return buf

    def _set(self, tokens: np.ndarray, state: Any) -> None:
        import llama_cpp.llama_cpp as C

        self.llm._ctx.kv_cache_clear()
        C.llama_state_set_data(self.llm._ctx.ctx, state, len(state))
        self._held(tokens)

    def _held(self, tokens: np.ndarray) -> None:
        n = len(tokens)
        self.llm.input_ids[:n] = tokens
        self.llm.n_tokens = n
        self.llm._requires_eval = True

    def _remember(self, tokens: np.ndarray, state: Any) -> None:
        self.snapshots[tokens.tobytes()] = (tokens, state)
        self.snapshots.move_to_end(tokens.tobytes(), last=False)
        total = 0
        for key, (_, kept) in list(self.snapshots.items()):
            total += len(kept)
            if total > RAM_SNAPSHOTS_BYTES and key != tokens.tobytes():
                del self.snapshots[key]

    def start(self, tokens: np.ndarray, last: int) -> int:
        """Load the longest snapshot that ``tokens[:last]`` begins with, from memory or
        disk, else clear the context; the number of tokens it holds."""
        best: tuple[np.ndarray, Any] | None = None
        for held, state in self.snapshots.values():
            if len(held) <= last and _is_prefix(held, tokens) and \
                    (best is None or len(held) > len(best[0])):
                best = (held, state)
        have = len(best[0]) if best is not None else 0
        if self.cache is not None and len(tokens) >= self.cache.min_tokens:
            n = self.cache.restore(self.llm, tokens[:last], better_than=have)
            if n:
                return n
        if best is not None:
            self._set(*best)
            self.snapshots.move_to_end(best[0].tobytes(), last=False)
            return have
        self.llm.reset()
        self.llm._ctx.kv_cache_clear()
        return 0

    def prepare(self, prompt: list[int]) -> None:
        """Leave the context holding ``prompt`` up to its last batch, canonically."""
        tokens = np.asarray(prompt, dtype=np.int32)
        last = (len(tokens) - 1) - (len(tokens) - 1) % self.nb  # where the last batch starts
        pos = self.start(tokens, last)
        state = None
        while pos < last:
            self.llm.eval(prompt[pos: pos + self.nb])
            pos += self.nb
            state = self._get()
            self._set(tokens[:pos], state)  # the cache laid out as after a load
        if state is not None:
            self._remember(tokens[:last].copy(), state)
            if self.cache is not None and len(tokens) >= self.cache.min_tokens:
                self.cache.save(self.llm, prompt[:last])


def prompt_only_reuse(llm: Any, cache: PromptCache | None = None) -> Any:
    """Route ``llm.generate`` so that each answer depends on its prompt alone (see the
    module), with ``cache`` on disk if given; returns ``llm``."""
    generate = llm.generate
    context = _Context(llm, cache)

    def canonical_generate(tokens: Any, *args: Any, **kwargs: Any) -> Any:
        tokens = list(tokens)
        context.prepare(tokens)
        # llama-cpp-python finds the prefix held and evaluates the last batch only
        yield from generate(tokens, *args, **kwargs)

    llm.generate = canonical_generate
    if cache is not None:
        llm.prompt_cache = cache
    return llm


class PromptCache:
    """Snapshots of long prompts on disk, shared by processes; see the module."""

    def __init__(self, folder: Path, min_tokens: int = 2048, max_bytes: int = 2 << 30,
                 min_gain: int = 256) -> None:
        self.folder = Path(folder)
        self.min_tokens = min_tokens
        self.max_bytes = max_bytes
        self.min_gain = min_gain
        """Load a saved state only when it spares at least this many more tokens."""
        self.stats = {"restored": 0, "saved": 0, "reused_tokens": 0, "bad": 0,
                      "write_errors": 0}

    def attach(self, llm: Any) -> Any:
        """Evaluate ``llm``'s prompts as :func:`prompt_only_reuse` does, with this cache;
        returns ``llm`` (``llm.prompt_cache``)."""
        return prompt_only_reuse(llm, self)

    def _entries(self) -> list[Path]:
        return list(self.folder.glob("*.state")) if self.folder.is_dir() else []

    def restore(self, llm: Any, head: np.ndarray, better_than: int = 0) -> int:
        """Load the longest saved snapshot that ``head`` begins with, if it holds at least
        ``min_gain`` tokens more than ``better_than``; the tokens it holds (0: none)."""
        best, best_n = None, better_than + self.min_gain - 1
        for state in self._entries():
            try:
                saved = np.load(state.with_suffix(".tokens.npy"))
            except (OSError, ValueError):
                continue  # being written or evicted by another process
            if len(saved) > best_n and _is_prefix(saved, head):
                best, best_n = state, len(saved)
        if best is None:
            return 0
        import llama_cpp.llama_cpp as C

        tokens = (C.llama_token * llm.n_ctx())()
        count = ctypes.c_size_t(0)
        llm._ctx.kv_cache_clear()
        ok = os.path.exists(best) and C.llama_state_load_file(
            llm._ctx.ctx, str(best).encode(), tokens, llm.n_ctx(), ctypes.byref(count))
        if not ok or int(count.value) != best_n:
            self.stats["bad"] += 1
            llm.reset()
            llm._ctx.kv_cache_clear()  # whatever was half loaded
            self._drop(best)
            return 0
        llm.input_ids[:best_n] = np.ctypeslib.as_array(tokens)[:best_n]
        llm.n_tokens = best_n
        llm._requires_eval = True
        os.utime(best)  # recently used
        self.stats["restored"] += 1
        self.stats["reused_tokens"] += best_n
        return best_n

    def save(self, llm: Any, prefix: list[int]) -> None:
        """Write ``llm``'s state, which holds exactly ``prefix`` (a snapshot), once per
        distinct prefix.

        A folder that cannot be written (read-only, full) costs the speed-up, not the
        answer: the error is logged once and the call goes on.
        """
        try:
            self._save(llm, prefix)
        except OSError as exc:
            if not self.stats["write_errors"]:
                log.warning("prompt cache %s not written (%s); prompts are evaluated as "
                            "usual", self.folder, exc)
            self.stats["write_errors"] += 1

    def _save(self, llm: Any, prefix: list[int]) -> None:
        if llm.n_tokens != len(prefix) or not prefix:
            return
        held = np.asarray(prefix, dtype=np.int32)
        name = hashlib.sha1(held.tobytes()).hexdigest()[:24]
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
