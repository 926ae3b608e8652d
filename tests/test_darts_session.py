"""A whole LAPT session on the DARTS space: supernets on the digits data, scripted answers."""

from __future__ import annotations

from pathlib import Path

from lapt.agents import RunDir, load_config, run_session
from lapt.agents.providers import build_llm
from lapt.spaces import get_space

from .scripted import Script


def test_darts_session_on_digits(tmp_path):
    ops = ["sep_conv_3x3", "skip_connect"]
    script = Script(ops=ops, n_layers=16)
    cfg = load_config({
        "name": "darts-t", "space": "darts",
        "source": {"task": "digits", "top_k": 4, "sample": 6},
        "targets": ["digits"],
        "search": {"budget": 50, "iterations": 2, "population": 4, "tournament": 2,
                   "generations": 1, "crossover": 0.5, "mutation_prob": 0.5, "top_r": 3},
        "supernet": {"width": 4, "cells": 3, "epochs": 1, "batch_size": 64,
                     "final_width": 4, "final_cells": 3, "final_epochs": 1, "cpu_threads": 1},
        "out_dir": str(tmp_path / "runs"),
    })
    llms = {a: build_llm(script.provider()) for a in ("analyst", "translator", "adapter")}
    res = run_session(cfg, llms=llms)
    space = get_space("darts")
    t = res.tasks["digits"]
    arch = space.decode(t.arch)
    assert set(arch.ops) <= set(ops)              # searched in the translated subspace
    assert 0 <= t.test <= 100 and t.rank is None
    # per iteration: population 4 + 1 generation of 4 children, minus repeats
    assert 0 < t.n_evals <= 16
    assert [i.subspace_size for i in t.iterations] == [2 ** 16 * 2_880 ** 2] * 2
    assert t.extra["final_params"] > 0 and 0 <= t.extra["final_test_acc"] <= 100
    rd = RunDir(Path(res.run_dir))
    keys = {line.split('"evaluator": "')[1].split('"')[0]
            for line in (rd.path / "evaluations.jsonl").read_text().splitlines()}
    # the source supernet, then one for the target's subspace: both iterations translated
    # to the same subspace, so the second reuses its supernet (and its evaluations)
    assert len(keys) == 2 and "source:digits" in keys
    assert next(k for k in keys if k != "source:digits").startswith("digits/")
    assert len(rd.evaluations("source:digits")) == 6
    assert len(list((rd.path / "supernets").iterdir())) == 2  # checkpoints per supernet
