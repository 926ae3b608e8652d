"""`lapt bench`: the tables, eEDFs and plots hold the right figures (scripted LLM answers)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from lapt.bench import (
    BenchDir,
    BenchError,
    get_protocol,
    load_providers,
    parse_methods,
    run_bench,
)
from lapt.bench.methods import stats_method_subspace
from lapt.bench.tables import all_rows, eedf_sets, summary
from lapt.spaces import Subspace
from lapt.tools.metrics import eedf
from lapt.tools.tasks import benchmark

from .scripted import Script, layers_answer, source_best_layers

FIXED_LAYERS = source_best_layers()  # 64 cells, holding the source's best
FIXED_OPS = ["nor_conv_3x3", "nor_conv_1x1"]  # what the scripted principles name


def fixed_indices(layers: list[list[str]]) -> list[int]:
    """Canonical NB201 indices of every cell whose edges use ``layers[i]`` (base-5)."""
    space = benchmark("nb201").space
    ids = [[space.layers[i].ops.index(o) for o in ops] for i, ops in enumerate(layers)]
    return [int(np.ravel_multi_index(c, [5] * 6)) for c in itertools.product(*ids)]


SCRIPT_CALLS: dict[str, int] = {}
"""The LLM calls the scripted model really answered in ``nb201_bench``, per agent."""


@pytest.fixture(scope="module")
def nb201_bench(tmp_path_factory) -> BenchDir:
    """A small NB201 bench: REA, stats and LAPT whose Translator always answers
    FIXED_LAYERS."""
    out = tmp_path_factory.mktemp("bench")
    script = Script(ops=FIXED_OPS)
    script.defaults["translator"] = layers_answer(FIXED_LAYERS)
    res = run_bench("nb201", methods="rea,stats,lapt", seeds=2, budget=100, out_dir=out,
                    providers={"default": script.provider()}, bench_id="bench-t")
    assert not res.failed, res.failed
    SCRIPT_CALLS.update(script.calls)  # workers=1: the seeds ran in this process
    return res.bench


def test_bad_input_names_the_valid_choices(tmp_path):
    with pytest.raises(BenchError, match="unknown protocol 'nb101'; valid: nb201, trans101"):
        get_protocol("nb101")
    with pytest.raises(BenchError, match=r"unknown method\(s\) \['bohb'\]; valid: rea, random"):
        parse_methods("rea,bohb")
    for bad in ({"seeds": 0}, {"budget": 0}, {"workers": 0}):
        with pytest.raises(BenchError, match=f"{next(iter(bad))} must be an integer >= 1"):
            run_bench("nb201", methods="rea", out_dir=tmp_path, **bad)
    with pytest.raises(BenchError, match="too small"):
        run_bench("nb201", methods="lapt-notransfer", budget=3, out_dir=tmp_path)
    f = tmp_path / "p.yaml"
    f.write_text("provider: gpt\n")
    with pytest.raises(BenchError, match="providers.default.*'llama_cpp', 'openai'"):
        load_providers(f)
    with pytest.raises(BenchError, match="no such file"):
        load_providers(tmp_path / "none.yaml")


def test_histories_stay_in_the_fixed_subspace(nb201_bench):
    bench = benchmark("nb201")
    allowed = set(fixed_indices(FIXED_LAYERS))
    stats_cells = {bench.space.index(a) for a in stats_method_subspace(get_protocol("nb201"))
                   .enumerate()}
    for rec in nb201_bench.results():
        for task, h in rec["tasks"].items():
            cells = h["cells"]
            assert len(cells) == len(set(cells)) <= 100          # unique, within budget
            assert h["val"] == [float(bench.val(task)[i]) for i in cells]
            assert h["test"] == [float(bench.test(task)[i]) for i in cells]
            if rec["method"] == "lapt":
                # one REA: the 64-cell subspace first (all of it, or until its converged
                # population only repeats), then the whole space for the rest of the budget
                k = next(i for i, c in enumerate(cells) if c not in allowed)
                assert 60 <= k <= 64 and len(cells) == 100
                assert all(Subspace.model_validate(s).cardinality() == 64
                           for s in h["subspaces"])
            if rec["method"] == "stats":
                assert set(cells) == stats_cells


def _expected(task: str, cells: list[int], budget: int) -> dict:
    """The figures of one seed, computed straight from the benchmark arrays."""
    bench = benchmark("nb201")
    val, test, ranks = bench.val(task), bench.test(task), bench.ranks(task)
    threshold = np.sort(val)[::-1][math.ceil(0.001 * len(val)) - 1]
    best, evals = None, budget
    for k, i in enumerate(cells, start=1):
        if best is None or val[i] > val[best]:
            best = i
        if val[best] >= threshold:
            evals = k
            break
    final = cells[int(np.argmax([val[i] for i in cells]))]
    return {"evals": evals, "test_top": float(test[best]), "test": float(test[final]),
            "rank": int(ranks[final])}


def test_tables_hold_the_right_figures(nb201_bench):
    proto = get_protocol("nb201")
    records = nb201_bench.results()
    summ = summary(all_rows(proto, records))
    report = (nb201_bench.path / "report.md").read_text()
    csv_text = (nb201_bench.path / "seeds.csv").read_text()
    for method in ("rea", "stats", "lapt"):
        for task in proto.targets:
            exp = [_expected(task, r["tasks"][task]["cells"], 100) for r in records
                   if r["method"] == method]
            s = summ[(method, task)]
            assert s["seeds"] == 2
            assert s["evals"].mean == pytest.approx(np.mean([e["evals"] for e in exp]))
            assert s["test_top"].mean == pytest.approx(np.mean([e["test_top"] for e in exp]))
            assert s["test"].mean == pytest.approx(np.mean([e["test"] for e in exp]))
            assert s["test"].std == pytest.approx(np.std([e["test"] for e in exp]))
            assert s["rank"].mean == pytest.approx(np.mean([e["rank"] for e in exp]))
            assert f"{s['test'].mean:.2f} ± {s['test'].std:.2f}" in report
            assert f"({s['evals'].mean:.1f} ± {s['evals'].std:.1f}; " in report
    # LAPT exhausted the 64-cell subspace: its pick is at least the subspace's best
    for task in proto.targets:
        b = benchmark("nb201")
        idx = fixed_indices(FIXED_LAYERS)
        best = idx[int(np.argmax(b.val(task)[idx]))]
        for r in (r for r in records if r["method"] == "lapt"):
            assert max(r["tasks"][task]["val"]) >= float(b.val(task)[best])
    assert csv_text.splitlines()[0].startswith("method,seed,task,n_evals,evals_to_top_q")
    assert len(csv_text.splitlines()) == 1 + 3 * 2 * 2
    assert "LAPT-REA (quoted) | 94.36 (4.9) | 73.45 (8.6)" in report
    # per seed: 1 Analyst call; per task, 3 iterations: the Translator whenever the
    # principles changed (at least once), the Adapter after every iteration but the last
    assert SCRIPT_CALLS["analyst"] == 2 and SCRIPT_CALLS["adapter"] == 2 * 2 * 2
    assert 2 * 2 <= SCRIPT_CALLS["translator"] <= 2 * 2 * 3
    for agent, n in SCRIPT_CALLS.items():
        assert f"| lapt | {agent} | function:function | {n} |" in report


def test_eedf_matches_a_direct_count(nb201_bench):
    proto = get_protocol("nb201")
    records = nb201_bench.results()
    bench = benchmark("nb201")
    for task in proto.targets:
        sets = eedf_sets(proto, records, task)
        labels = [label for label, _ in sets]
        assert labels[0] == "full space" and labels[1] == "statistics subspace"
        assert labels[2].startswith("lapt first refined") and "last adapted" in labels[3]
        lapt0 = min((r for r in records if r["method"] == "lapt"), key=lambda r: r["seed"])
        assert sets[2][1].model_dump(mode="json") == lapt0["tasks"][task]["subspaces"][0]
        assert sets[3][1].model_dump(mode="json") == lapt0["tasks"][task]["subspaces"][-1]
        for label, cells in sets:
            idx = (np.arange(15_625) if cells is None
                   else [bench.space.index(a) for a in cells.enumerate()])
            errors = 100.0 - bench.test(task)[idx]
            f = eedf(bench, task, cells)
            for e in (5.0, 6.0, 8.0, 10.0, 50.0, 100.0):
                assert f(e) == pytest.approx(np.mean(errors <= e)), (label, e)


def test_plots_are_written(nb201_bench):
    for task in ("cifar10", "cifar100"):
        for kind in ("best_so_far", "eedf"):
            png = nb201_bench.path / "plots" / f"{kind}-{task}.png"
            data = png.read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000


def test_trans101_table_and_average_rank(tmp_path):
    proto = get_protocol("trans101")
    res = run_bench("trans101", methods="rea,random", seeds=2, out_dir=tmp_path)
    records = res.bench.results()
    bench = benchmark("trans101")
    summ = summary(all_rows(proto, records))
    ranks = []
    for task in proto.targets:
        picks = []
        for r in (r for r in records if r["method"] == "rea"):
            h = r["tasks"][task]
            assert len(h["cells"]) == 50
            picks.append(h["cells"][int(np.argmax(h["val"]))])
        rank = np.mean([1 + int((bench.test(task) > bench.test(task)[i]).sum()) for i in picks])
        assert summ[("rea", task)]["rank"].mean == pytest.approx(rank)
        ranks.append(rank)
    report = (res.bench.path / "report.md").read_text()
    assert f"| {np.mean(ranks):.2f} | 2 |" in report
    assert "| LAPT-REA (quoted) | – | – | – | – | – | – | 12.30 | – |" in report
    assert len(list(Path(res.bench.path, "plots").glob("*.png"))) == 12


def test_provider_config_forms(tmp_path):
    run_cfg = load_providers(Path(__file__).resolve().parents[1] / "runs" / "nb201.yaml")
    assert run_cfg["default"].provider == "llama_cpp"
    one = tmp_path / "one.yaml"
    one.write_text("provider: openai\nmodel: gpt-4o-mini\n")
    assert load_providers(one)["default"].model == "gpt-4o-mini"
    per_agent = load_providers({"default": {"provider": "llama_cpp"},
                                "adapter": {"provider": "ollama", "model": "qwen2.5"}})
    assert per_agent["adapter"].provider == "ollama"
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(BenchError, match="expected a mapping"):
        load_providers(bad)


def test_a_seed_reserves_its_llama_threads_else_one_cpu(tmp_path):
    from lapt.agents.providers import FunctionConfig, LlamaCppConfig
    from lapt.bench.methods import Job
    from lapt.bench.ray_executor import LLAMA_CPUS, seed_cpus

    def cpus(method: str, providers: dict, replay: str | None = None) -> float:
        return seed_cpus(Job("nb201", method, 0, 40, str(tmp_path), providers, replay))

    api = FunctionConfig(answers=["{}"])
    assert cpus("rea", {"default": LlamaCppConfig(n_threads=8)}) == 1  # no model asked
    assert cpus("lapt", {"default": api}) == 1  # a remote API: the seed mostly waits
    assert cpus("lapt", {}) == LLAMA_CPUS == 2  # the preset's embedded model, threads unset
    assert cpus("lapt", {"default": LlamaCppConfig(n_threads=3)}) == 3
    # per agent: the largest model decides; every session of lapt-notransfer counts
    assert cpus("lapt", {"default": api, "translator": LlamaCppConfig(n_threads=5),
                         "adapter": LlamaCppConfig(n_threads=4)}) == 5
    assert cpus("lapt-notransfer", {"default": LlamaCppConfig(n_threads=6)}) == 6
    assert cpus("lapt", {"default": LlamaCppConfig(n_threads=6)}, replay=str(tmp_path)) == 1
