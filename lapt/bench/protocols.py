"""The paper's experiments as protocols (NB201: Table 2, Trans101: Table 3) and the methods.

A :class:`Protocol` fixes the space, the source task and its archive, the target tasks,
the default number of seeds and evaluation budget, the REA knobs of the paper's Table 1,
and the paper's own figures (quoted rows). :data:`METHODS` are what a bench compares.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class BenchError(ValueError):
    """Bad bench input; the message names the valid choices."""


@dataclass(frozen=True)
class Quoted:
    """A row of the paper's table, quoted as printed (``None`` where it gives no figure)."""

    method: str
    values: dict[str, str] = field(default_factory=dict)
    """Per target task, the cell as printed, e.g. ``"94.37 (29)"``."""
    avg_rank: float | None = None


@dataclass(frozen=True)
class Protocol:
    """One of the paper's experiments."""

    name: str
    space: str
    preset: str
    """The LAPT run preset (``lapt/runs/<preset>.yaml``): Table 1's settings."""
    source: str
    top_k: int
    targets: tuple[str, ...]
    seeds: int
    budget: int
    """Unique evaluations per target task and seed, the same for every method."""
    population: int
    tournament: int
    iterations: int
    top_r: int
    top_q: float | None
    """evals-to-top-q is reported for this q (None: not part of the table)."""
    top_q_by: str = "val"
    """How top-q membership is judged (see :func:`lapt.tools.metrics.evals_to_top_q`)."""
    quoted: tuple[Quoted, ...] = ()
    quoted_from: str = ""


NB201 = Protocol(
    name="nb201", space="nb201", preset="nb201", source="ImageNet16-120", top_k=50,
    targets=("cifar10", "cifar100"), seeds=20, budget=100, population=5, tournament=2,
    iterations=3, top_r=5, top_q=0.001,
    quoted=(
        Quoted("REA", {"cifar10": "93.92 (>500)", "cifar100": "71.84 (>500)"}),
        Quoted("HEBO", {"cifar10": "94.34 (100)", "cifar100": "72.62 (100)"}),
        Quoted("MetaD2A", {"cifar10": "94.37 (100)", "cifar100": "73.34 (100)"}),
        Quoted("TNAS-BO", {"cifar10": "94.37 (29)", "cifar100": "73.51 (59)"}),
        Quoted("LAPT-REA", {"cifar10": "94.36 (4.9)", "cifar100": "73.45 (8.6)"}),
    ),
    quoted_from="Zhou et al. 2025, Table 2: test accuracy (%) (architectures evaluated)",
)

TRANS101 = Protocol(
    name="trans101", space="trans101", preset="trans101", source="jigsaw", top_k=50,
    targets=("class_object", "class_scene", "room_layout", "autoencoder", "normal",
             "segmentsemantic"),
    seeds=25, budget=50, population=10, tournament=5, iterations=4, top_r=15, top_q=None,
    quoted=(Quoted("REA", avg_rank=38.50), Quoted("BONAS", avg_rank=34.31),
            Quoted("WeakNAS-T", avg_rank=35.73), Quoted("Arch-zero", avg_rank=14.7),
            Quoted("Arch-Graph", avg_rank=12.2), Quoted("LAPT-REA", avg_rank=12.3)),
    quoted_from="Zhou et al. 2025, Table 3: average rank over the six tasks at 50 evaluations",
)

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (NB201, TRANS101)}

METHODS: dict[str, str] = {
    "rea": "REA on the full space (the paper's population and tournament)",
    "random": "random search on the full space",
    "local": "local search on the full space (best-improvement, restarts)",
    "stats": "REA in the principle_stats subspace of the source archive (no LLM)",
    "lapt": "LAPT: principles from the source archive, refined subspaces, adaptation",
    "lapt-translated": "LAPT whose first subspace the Translator makes from the principles "
                       "(the Analyst's per-layer operators as a hint), not the Analyst",
    "lapt-noadapt": "LAPT without adaptation: the principles are never updated",
    "lapt-noevidence": "LAPT whose Analyst reads the archive's layer lists only, as the "
                       "paper's prompt does (no statistics table)",
    "lapt-notransfer": "LAPT without transfer: principles learned from a counted REA "
                       "search on the target itself",
}
LLM_METHODS = ("lapt", "lapt-translated", "lapt-noadapt", "lapt-noevidence",
               "lapt-notransfer")
DEFAULT_METHODS = ("rea", "random", "local", "stats", "lapt", "lapt-noadapt", "lapt-notransfer")


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``: the paper's, or that of a tabular space that declares
    its run defaults (a plugin); raises :class:`BenchError` naming the valid ones."""
    if name in PROTOCOLS:
        return PROTOCOLS[name]
    from lapt.spaces import SpaceError, origin, space_names

    benched = [n for n in space_names() if origin(n) != "built-in"]  # plugins, in code
    if name not in space_names():
        raise BenchError(f"unknown protocol {name!r}; valid: {', '.join(PROTOCOLS)}"
                         + (f", and the spaces {', '.join(benched)} if they declare a run"
                            if benched else ""))
    try:
        return space_protocol(name)
    except SpaceError as err:
        raise BenchError(str(err)) from None


def space_protocol(name: str) -> Protocol:
    """The bench of a tabular space from its declared run (``run_defaults``): its source
    and targets, its search settings as the budget and REA knobs, 5 seeds."""
    from lapt.agents import ConfigError, load_config
    from lapt.spaces import get_space

    space = get_space(name)
    if space.evaluation != "table" or space.run_defaults() is None:
        raise BenchError(f"space {name!r} has no bench: a bench needs a tabular space that "
                         f"declares its run defaults (a table space's 'run:'); valid: "
                         f"{', '.join(PROTOCOLS)}")
    try:
        cfg = load_config(name)
    except ConfigError as err:
        raise BenchError(f"space {name!r}: its run defaults: {err}") from None
    s = cfg.search
    return Protocol(name=name, space=name, preset=name, source=cfg.source.task,
                    top_k=cfg.source.top_k, targets=tuple(cfg.targets), seeds=5,
                    budget=s.budget, population=s.population, tournament=s.tournament,
                    iterations=s.iterations, top_r=s.top_r, top_q=None)


def parse_methods(methods: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Method names from a comma-separated string or a list (``None`` = all), validated."""
    if methods is None:
        return DEFAULT_METHODS
    items = methods.split(",") if isinstance(methods, str) else list(methods)
    names = [m.strip() for part in items for m in str(part).split(",") if m.strip()]
    bad = [m for m in names if m not in METHODS]
    if bad or not names:
        raise BenchError(f"unknown method(s) {bad or names}; valid: {', '.join(METHODS)}")
    return tuple(dict.fromkeys(names))


def notransfer_budget(protocol: Protocol, budget: int) -> int:
    """Evaluations the without-transfer ablation spends on its own archive search.

    One share of ``budget // (G + 1)``; the G iterations share the rest, so the method
    spends the same budget as every other one.
    """
    return max(1, budget // (protocol.iterations + 1))
