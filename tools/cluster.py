"""Ray, optional: connect to a cluster, and run work in a scratch folder whose files travel.

Nothing here needs a shared filesystem. A task gets the files it starts from as bytes,
runs in a fresh scratch folder on whichever node Ray picks, and returns its result with
the folder's files as bytes; the caller (the driver) alone writes them where they belong.

Example:
    >>> files = pack_folder("no-such-folder")
    >>> files
    {}
    >>> result, out = in_scratch(lambda root, n: (root / "a.txt").write_text("x" * n), {}, 3)
    >>> result, out
    (3, {'a.txt': b'xxx'})
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["EXECUTORS", "ClusterError", "check_address", "check_executor", "connect", "in_scratch",
           "pack_folder", "require_ray", "unpack_files"]

EXECUTORS = ("local", "ray")
"""Where work runs: ``local`` (this machine's processes), ``ray`` (a Ray cluster)."""

INSTALL_HINT = "pip install 'lapt[ray]'"

T = TypeVar("T")


class ClusterError(ValueError):
    """Ray is missing, the cluster cannot be reached, or an executor is unknown."""


def check_executor(name: str) -> str:
    """``name`` if it is an executor; else :class:`ClusterError` naming the choices."""
    if name not in EXECUTORS:
        raise ClusterError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")
    return name


def require_ray() -> Any:
    """The ``ray`` module, or :class:`ClusterError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"the ray executor needs Ray, which is not installed: "
                           f"{INSTALL_HINT}") from None
    return ray


def connect(address: str | None = None, num_cpus: float | None = None) -> Any:
    """Join the Ray cluster at ``address`` (None: start a local instance with ``num_cpus``
    logical CPUs), unless this process is connected already; returns the ``ray`` module.

    An unreachable address is a :class:`ClusterError` naming it.
    """
    ray = require_ray()
    if address is not None:
        check_address(address)
    if ray.is_initialized():
        return ray
    try:
        if address is None:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ClusterError(f"cannot reach the Ray cluster at {address!r}: {first} (start "
                           "one with `ray start --head`, or give its address, e.g. "
                           "ray://head:10001 or head:6379)") from None
    return ray


def check_address(address: str, timeout_s: float = 5.0) -> None:
    """A quick TCP check of a ``host:port`` address (Ray itself waits minutes before it
    gives up): :class:`ClusterError` naming it if nothing answers. ``ray://``, ``auto``
    and ``local`` addresses are left to Ray."""
    import socket

    if address.startswith(("ray://", "auto", "local")):
        return

    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or address, int(port or 6379)), timeout_s):
            pass
    except (OSError, ValueError) as err:
        raise ClusterError(f"cannot reach the Ray cluster at {address!r}: {err} (start one "
                           "with `ray start --head`, or give its address, e.g. head:6379)"
                           ) from None


def pack_folder(folder: str | Path) -> dict[str, bytes]:
    """Every file under ``folder`` as ``{relative posix path: bytes}`` (none: ``{}``)."""
    root = Path(folder)
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def unpack_files(files: dict[str, bytes], folder: str | Path) -> None:
    """Write ``files`` (as :func:`pack_folder` returns them) under ``folder``, each one
    atomically (a temporary name, then a rename)."""
    root = Path(folder)
    for rel, data in files.items():
        path = root / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise ValueError(f"refusing to write {rel!r} outside {root}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)


def in_scratch(fn: Callable[..., T], files: dict[str, bytes], *args: Any
               ) -> tuple[T, dict[str, bytes]]:
    """Run ``fn(root, *args)`` in a fresh scratch folder ``root`` holding ``files``; its
    result and the folder's files afterwards. The scratch folder is removed."""
    root = Path(tempfile.mkdtemp(prefix="lapt-scratch-"))
    try:
        unpack_files(files, root)
        result = fn(root, *args)
        return result, pack_folder(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
