"""The real embedded model (Gemma 3 270M through llama.cpp) through a whole LAPT session.

No scripted answers: the three agents ask the local GGUF model, constrained by their
JSON schemas. The model is tiny, so the test checks that the session works end to end
(every call recorded, answers parsed or repaired or recorded, a result), not that its
principles are good.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lapt.agents import RunDir, load_config, run_session
from lapt.spaces import get_space

pytestmark = pytest.mark.llm


def test_embedded_model_full_session(tmp_path):
    cfg = load_config({
        "name": "embedded", "space": "nb201",
        "source": {"task": "ImageNet16-120", "top_k": 5},
        "targets": ["cifar10"],
        "search": {"budget": 10, "iterations": 2, "population": 4, "tournament": 2},
        "analyst": {"max_repairs": 1}, "translator": {"max_repairs": 1},
        "adapter": {"max_repairs": 1},
        "providers": {"default": {"provider": "llama_cpp", "max_tokens": 320, "seed": 0,
                                  "temperature": 0.2}},
        "out_dir": str(tmp_path / "runs"),
    })
    res = run_session(cfg)
    rd = RunDir(Path(res.run_dir))
    assert rd.finished
    t = res.tasks["cifar10"]
    space = get_space("nb201")
    space.check(space.decode(t.arch))
    assert 0 < t.n_evals <= 10 and len(t.iterations) == 2
    calls = rd.records("llm_call")
    agents = {c["agent"] for c in calls}
    assert "analyst" in agents
    for c in calls:
        assert c["provider"] == "llama_cpp" and c["model"] == "gemma-3-270m-q4_k_m"
        assert c["raw"] is not None and c["prompt_tokens"] > 0 and c["completion_tokens"] > 0
        assert (c["parsed"] is None) == (c["error"] is not None)
    # every subspace searched was valid or the recorded fallback
    for it in t.iterations:
        assert it.subspace_valid or it.fallback_reason
    assert sum(v.calls for v in res.llm.values()) == len(calls)
