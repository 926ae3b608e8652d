"""Reading a transcript back for a person: by agent, by iteration, as text."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text


def filter_records(records: list[dict[str, Any]], agent: str | None = None,
                   iteration: int | None = None) -> list[dict[str, Any]]:
    """Records of one agent (sender, recipient or caller) and/or one iteration (1-based).

    Records before the first iteration (the Analyst's turn) belong to iteration 0.
    Each returned record gains ``task`` and ``iteration`` keys.
    """
    out, task, it = [], None, 0
    for r in records:
        if r.get("kind") == "event" and r.get("name") == "iteration":
            task, it = r["data"]["task"], r["data"]["iteration"]
        who = {r.get("agent"), r.get("sender"), r.get("recipient")}
        if agent is not None and agent not in who:
            continue
        if iteration is not None and it != iteration:
            continue
        out.append({**r, "task": task, "iteration": it})
    return out


def _short(value: Any, limit: int = 1200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=1)
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more chars)"


def _principles(p: dict[str, Any]) -> str:
    rows = [f"  {i}. {x['statement']} [{x['effect']}; ops {x.get('operators') or 'any'}; "
            f"layers {x.get('layers') or 'all'}]" for i, x in enumerate(p["principles"], 1)]
    return f"principles ({p.get('origin')}):\n" + ("\n".join(rows) or "  (none)")


def _subspace(s: dict[str, Any]) -> str:
    return "\n".join(f"  layer {i}: {', '.join(c['ops'])}"
                     + (f" <- {c['sources']}" if len(c["sources"]) > 1 else "")
                     for i, c in enumerate(s["layers"]))


def summarize(type_: str, p: dict[str, Any]) -> str:
    """A message payload in a few lines a person reads at a glance."""
    if type_ == "analyze_request":
        return (f"task {p['task']}: {len(p['archive'])} architectures, best first:\n  "
                + "\n  ".join(p["archive"][:5]) + ("\n  ..." if len(p["archive"]) > 5 else ""))
    if type_ == "principles":
        return (f"information flow: {p.get('information_flow')}\n"
                f"common patterns: {p.get('common_patterns')}\n" + _principles(p))
    if type_ == "analysis":
        sub = p.get("subspace")
        return (summarize("principles", p["principles"]) + "\n"
                + (f"per-layer operators:\n{_subspace(sub)}" if sub else
                   f"no per-layer operators{': ' + p['subspace_problems'] if p.get('subspace_problems') else ''}"))
    if type_ == "translate_request":
        return _principles(p["principles"])
    if type_ == "translation":
        head = "valid" if p["valid"] else f"kept the fallback: {p.get('fallback_reason')}"
        return f"{head}; {p['repairs']} repairs\n{_subspace(p['subspace'])}"
    if type_ == "search_request":
        return f"task {p['task']}: budget {p['budget']}, seed {p['seed']}\n{_subspace(p['subspace'])}"
    if type_ == "search_result":
        b = p["best"]
        return (f"{len(p['evaluated'])} cells, {p['n_evals_total']} evaluations so far "
                f"({p['stop_reason']}); best {b['arch']} val {b['val']:.4g} test {b['test']:.4g}")
    if type_ == "adapt_request":
        return f"Base {p['base']}, Best {p['best']:.4g}, top-{p['top_r']} of {len(p['found'])}"
    if type_ == "adaptation":
        return (f"branch {p['branch']}, Base {p['base']}"
                + (f", note: {p['note']}" if p.get("note") else "") + "\n"
                + _principles(p["principles"]))
    return json.dumps(p)


def clean(text: str) -> str:
    """Model text made safe for a terminal: control characters (ANSI escapes' ESC among
    them) and lone surrogates replaced; shown as plain text, never read as markup."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t":
            out.append(ch)
        elif code < 32 or 127 <= code < 160 or 0xD800 <= code <= 0xDFFF or code in (
                0x2028, 0x2029):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _text(*parts: str | tuple[str, str]) -> Text:
    """Plain text (no markup) from strings and (string, style) pairs, cleaned."""
    return Text.assemble(*((clean(p[0]), p[1]) if isinstance(p, tuple) else clean(p)
                           for p in parts))


def render_text(records: list[dict[str, Any]], console: Console) -> None:
    """Print records as panels: messages, LLM calls (prompt, answer, cost), events.

    Everything a record holds is shown as plain text: model output can neither break
    the display with markup (``[/bold]``) nor reach the terminal as escape sequences.
    """
    for r in records:
        where = f"{r.get('task') or 'source'} it{r.get('iteration', 0)} #{r.get('seq')}"
        kind = r.get("kind")
        if kind == "event":
            console.print(_text((where, "dim"), " ", ("event", "cyan"),
                                f" {r.get('name')} {json.dumps(r.get('data'))}"))
        elif kind == "message":
            console.print(Panel(
                _text(_short(summarize(r.get("type", "?"), r.get("payload") or {}))),
                title=_text((where, "dim"), f" {r.get('sender')} -> {r.get('recipient')}: "
                                            f"{r.get('type')}"), title_align="left"))
        elif kind == "llm_call":
            prompt = r["messages"][-1]["content"] if r.get("messages") else ""
            ok = r.get("parsed") is not None
            retries = f", {len(r['retries'])} retries" if r.get("retries") else ""
            console.print(Panel(
                _text(("prompt (last turn)", "bold"), "\n", _short(str(prompt), 800), "\n\n",
                      ("answer", "bold"), "\n", _short(str(r.get("raw") or "")), "\n\n",
                      ("ok", "green") if ok else (str(r.get("error")), "red")),
                title=_text((where, "dim"),
                            f" LLM call by {r.get('agent')} ({r.get('provider')}/"
                            f"{r.get('model')}, {r.get('prompt_tokens', 0)}+"
                            f"{r.get('completion_tokens', 0)} tokens, "
                            f"{r.get('latency_s', 0):.1f} s{retries})"), title_align="left"))
