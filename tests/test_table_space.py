"""Bring your own table: a CSV + YAML space, its errors, and the installed example plugin.

The example under ``examples/tiny201`` is installed with pip (offline, no dependencies:
lapt is already here) into a folder on PYTHONPATH, and the real ``lapt`` command runs in
a subprocess: the space is listed, ``lapt bench`` runs its baselines, and ``lapt run``
finishes with the ranks and metrics that the CSV holds. The LLM answers come from the
``manual`` provider's answer files, written by the test as each prompt appears.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lapt.spaces import SpaceError, get_space, space_names
from lapt.spaces import _registry as registry
from lapt.spaces.table import TableSpace
from lapt.tools.encode import encode_space

from .scripted import adapter_answer, analyst_answer, translator_answer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tiny201"
YAML = (EXAMPLE / "tiny201" / "space.yaml").read_text()
CSV = (EXAMPLE / "tiny201" / "cells.csv").read_text()


def write(tmp_path: Path, yaml_text: str = YAML, csv_text: str = CSV) -> Path:
    (tmp_path / "cells.csv").write_text(csv_text)
    (tmp_path / "space.yaml").write_text(yaml_text)
    return tmp_path / "space.yaml"


def csv_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(CSV.splitlines()))


def test_the_example_is_a_tabular_space(tmp_path):
    space = TableSpace.from_yaml(write(tmp_path))
    assert space.cardinality() == 729 and space.evaluation == "table"
    assert list(space.tasks()) == ["cifar10", "cifar100", "ImageNet16-120"]
    rows = csv_rows()
    row = rows[100]
    arch = space.decode("|".join(row[c] for c in ("e01", "e02", "e12", "e03", "e13", "e23")))
    rec = space.benchmark().lookup(arch, "cifar100")
    assert (rec.val, rec.test) == (float(row["c100_val"]), float(row["c100_test"]))
    assert rec.rank == 1 + sum(float(r["c100_test"]) > rec.test for r in rows)
    assert space.encode(arch) == "|".join(arch.ops)
    src = encode_space(space)  # the class prompt runs: every operator has code
    assert "class Cell(nn.Module)" in src and "Opaque" not in src
    assert space.schema_title == "Tiny201"


def bad(tmp_path: Path, yaml_text: str = YAML, csv_text: str = CSV) -> str:
    with pytest.raises(SpaceError) as err:
        TableSpace.from_yaml(write(tmp_path, yaml_text, csv_text))
    return str(err.value)


def test_bad_tables_are_named(tmp_path):
    lines = CSV.splitlines()
    msg = bad(tmp_path, csv_text="\n".join([lines[0], lines[1] + ",7", *lines[2:]]))
    assert "line 2: 13 fields, the header has 12" in msg
    msg = bad(tmp_path, csv_text=CSV.replace("nor_conv_3x3", "conv5x5", 1))
    assert "unknown operator 'conv5x5'; valid: none, skip_connect, nor_conv_3x3" in msg
    msg = bad(tmp_path, csv_text="\n".join([*lines, lines[5]]))
    assert "lines 6 and 731: the same architecture" in msg
    msg = bad(tmp_path, csv_text="\n".join(lines[:-1]))
    assert "holds 728 of the space's 729 cells" in msg and "missing e.g." in msg
    msg = bad(tmp_path, csv_text=CSV.replace("c100_test", "c100_tst"))
    assert "missing columns 'c100_test' (task cifar100 (test))" in msg and "c100_tst" in msg
    msg = bad(tmp_path, csv_text=CSV.replace(",9.7120,", ",n/a,", 1))
    assert "line 2: column c10_val (task cifar10): 'n/a' is not a finite number" in msg
    msg = bad(tmp_path, csv_text='e01,"e02\nnone,"none')
    assert "malformed CSV" in msg or "fields" in msg


def test_bad_yaml_is_named(tmp_path):
    msg = bad(tmp_path, YAML.replace("table: cells.csv\n", ""))
    assert "table: Field required" in msg
    msg = bad(tmp_path, YAML.replace("  - {name: e02, source: 0, target: 2}",
                                     "  - {name: e02, source: 0, target: 2, ops: [conv7]}"))
    assert "unknown operators ['conv7']; valid: none, skip_connect, nor_conv_3x3" in msg
    msg = bad(tmp_path, YAML.replace("zero_op: none", "zero_op: zero"))
    assert "zero_op: 'zero' is not an operator" in msg
    msg = bad(tmp_path, YAML + "colour: blue\n")
    assert "colour: Extra inputs are not permitted" in msg
    assert "not valid YAML" in bad(tmp_path, "name: [x\n")


def test_min_goal_is_negated(tmp_path):
    text = YAML.replace("val: in16_val, test: in16_test}", "val: in16_val, goal: min}")
    space = TableSpace.from_yaml(write(tmp_path, text))
    info = space.tasks()["ImageNet16-120"]
    assert info.metric == "negated accuracy (%)"
    best = space.benchmark().top("ImageNet16-120", 1)[0]
    low = min(float(r["in16_val"]) for r in csv_rows())
    assert space.benchmark().lookup(best, "ImageNet16-120").val == -low


def test_a_broken_plugin_is_named_and_the_others_work(monkeypatch):
    eps = {"broken": EntryPoint("broken", "no_such_module_14:space", registry.GROUP),
           "wrong": EntryPoint("wrong", "lapt.spaces.nb201:NB201Space", registry.GROUP)}
    monkeypatch.setattr(registry, "plugins", lambda: eps)
    assert space_names() == ["nb201", "trans101", "darts", "broken", "wrong"]
    with pytest.raises(SpaceError, match=r"space plugin 'broken' .*no_such_module_14:space.* "
                                         r"failed to load: ModuleNotFoundError"):
        get_space("broken")
    with pytest.raises(SpaceError, match="registered as 'wrong' but the space calls itself "
                                         "'nb201'"):
        get_space("wrong")
    assert get_space("nb201").cardinality() == 15_625
    from lapt.cli import app

    out = CliRunner().invoke(app, ["spaces"])
    assert out.exit_code == 0 and "failed to load" in out.output and "15,625" in out.output


# ------------------------------------------------------------- the installed plugin
@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict[str, str]:
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build") / "tiny201"  # setuptools builds in the tree
    shutil.copytree(EXAMPLE, build, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target),
                    str(build)], check=True, cwd=build, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target), "COLUMNS": "200"}
    return env


def lapt(env: dict[str, str], *args: str, cwd: Path) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "lapt"  # the console script, as a user runs it
    return subprocess.Popen([str(exe), *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, timeout: float = 240) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


@pytest.mark.slow
def test_installed_plugin_is_listed_and_benched(plugin_env, tmp_path):
    out = finish(lapt(plugin_env, "spaces", cwd=tmp_path))
    assert "tiny201" in out and "plugin lapt-tiny201 0.1.0" in out and "729" in out
    answers = tmp_path / "answers"  # LAPT's seeds run as lapt-s0, lapt-s1: answers ready
    ops = ["nor_conv_3x3", "skip_connect"]
    for run in ("lapt-s0", "lapt-s1"):
        (answers / run).mkdir(parents=True)
        for agent, answer in (("analyst", analyst_answer(ops)),
                              ("translator", translator_answer(ops)),
                              ("adapter", adapter_answer(ops))):
            for n in range(1, 11):
                (answers / run / f"{agent}-{n}.json").write_text(json.dumps(answer))
    providers = tmp_path / "providers.yaml"
    providers.write_text(f"provider: manual\nanswers_dir: {answers}\n")
    out = finish(lapt(plugin_env, "bench", "tiny201", "--methods", "rea,stats,lapt", "--seeds",
                      "2", "--provider-config", str(providers), "--out", str(tmp_path),
                      "--id", "b", cwd=tmp_path))
    assert "failed 0" in out
    rows = list(csv.DictReader((tmp_path / "b" / "seeds.csv").read_text().splitlines()))
    assert sorted((r["method"], r["seed"], r["task"]) for r in rows) == sorted(
        (m, s, t) for m in ("rea", "stats", "lapt") for s in "01" for t in ("cifar10", "cifar100"))
    table = {"|".join(r[c] for c in ("e01", "e02", "e12", "e03", "e13", "e23")): r
             for r in csv_rows()}
    for r in rows:
        key = "c10" if r["task"] == "cifar10" else "c100"
        assert float(r["test_at_budget"]) == float(table[r["arch_at_budget"]][f"{key}_test"])


@pytest.mark.slow
def test_installed_plugin_runs(plugin_env, tmp_path):
    answers = tmp_path / "answers"
    ops = ["nor_conv_3x3", "skip_connect"]
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        "space: tiny201\nsource: {task: ImageNet16-120, top_k: 20}\ntargets: [cifar10]\n"
        "search: {budget: 20, iterations: 2, initial: 10, population: 5, tournament: 2}\n"
        "translator: {max_ops_per_layer: 2}\n"
        f"providers: {{default: {{provider: manual, answers_dir: {answers}, wait_s: 60}}}}\n")
    proc = lapt(plugin_env, "run", str(cfg), "--out", str(tmp_path / "runs"), cwd=tmp_path)
    script = {"analyst": analyst_answer(ops), "translator": translator_answer(ops),
              "adapter": adapter_answer(ops)}
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:  # a person at a chat window
        for prompt in answers.glob("*/*.prompt.md"):
            answer = prompt.with_name(prompt.name.replace(".prompt.md", ".json"))
            if not answer.exists():
                answer.write_text(json.dumps(script[prompt.name.split("-")[0]]))
        time.sleep(0.2)
    out = finish(proc, timeout=10)
    run = next((tmp_path / "runs").iterdir())
    result = json.loads((run / "results.json").read_text())["tasks"]["cifar10"]
    row = {"|".join(r[c] for c in ("e01", "e02", "e12", "e03", "e13", "e23")): r
           for r in csv_rows()}[result["arch"]]
    assert (result["val"], result["test"]) == (float(row["c10_val"]), float(row["c10_test"]))
    assert result["rank"] == 1 + sum(float(r["c10_test"]) > result["test"] for r in csv_rows())
    assert result["n_evals"] == 20 and "best cell per task" in out


def test_register_in_code(tmp_path):
    from lapt.spaces import origin, register_space, unregister_space

    space = TableSpace.from_yaml(write(tmp_path))
    register_space(space)
    try:
        assert "tiny201" in space_names() and get_space("tiny201") is space
        assert origin("tiny201") == "registered in code"
        with pytest.raises(SpaceError, match="the name 'tiny201' is taken"):
            register_space(space)
        from lapt.agents import load_config
        from lapt.bench import get_protocol

        cfg = load_config("tiny201")  # the YAML's run: section
        assert (cfg.space, cfg.source.task, cfg.targets) == (
            "tiny201", "ImageNet16-120", ["cifar10", "cifar100"])
        proto = get_protocol("tiny201")
        assert (proto.budget, proto.iterations, proto.top_k) == (20, 2, 20)
    finally:
        unregister_space("tiny201")
    assert "tiny201" not in space_names()
    with pytest.raises(SpaceError, match="unknown search space 'tiny201'; valid: nb201"):
        get_space("tiny201")
