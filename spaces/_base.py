"""The one interface every cell search space implements (the paper's eq. 2).

A space holds feed-forward cells of L *layers*. Layer i picks one operator from its
candidates C_i (``Layer.ops``) and one input node from its candidate sources S_i
(``Layer.sources``) and feeds node ``Layer.target``. An architecture is a frozen
:class:`Arch`: the chosen operator name and source node per layer.

Spaces whose sources are fixed (NAS-Bench-201, TransNAS-Bench-101 micro) have a single
candidate source per layer; DARTS has several.
"""

from __future__ import annotations

import abc
import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import networkx as nx
import numpy as np

if TYPE_CHECKING:
    from ._choices import CellChoices
    from ._subspace import Subspace
    from ._tables import TabularBenchmark


def short(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages about foreign input (an
    int of 5,000 digits has no repr at all)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** limit:
        return f"<an integer of more than {limit} digits>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SpaceError(ValueError):
    """Bad input to a search space: names the problem and the valid choices."""


@dataclass(frozen=True)
class TaskInfo:
    """What a task's numbers mean. Every metric is oriented so that higher is better."""

    name: str
    metric: str
    description: str


@dataclass(frozen=True)
class Layer:
    """One decision of a cell: an operator from ``ops`` applied to a node from ``sources``.

    Attributes:
        name: human-readable name, e.g. ``"edge 0->1"`` or ``"normal node 2, input 0"``.
        ops: candidate operator names C_i, in operator-id order.
        sources: candidate source nodes S_i.
        target: the node this layer feeds.
    """

    name: str
    ops: tuple[str, ...]
    sources: tuple[int, ...]
    target: int


@dataclass(frozen=True, order=True)
class Arch:
    """A frozen, hashable architecture: per layer the chosen operator and source node."""

    ops: tuple[str, ...]
    sources: tuple[int, ...]

    def as_layer_list(self) -> list[tuple[str, int]]:
        """The paper's layer list: ``[(op, source), ...]`` in layer order."""
        return list(zip(self.ops, self.sources, strict=True))


class SearchSpace(abc.ABC):
    """A cell search space. Subclasses set the class attributes and implement encode/decode.

    A space declares everything about itself: its encodings (:meth:`encode`,
    :meth:`decode`), the PyTorch code of its class prompt (:attr:`op_code` or
    :meth:`python_class_source`), its tasks (:meth:`tasks`), how a cell is evaluated
    (:attr:`evaluation`: looked up in :meth:`benchmark`, or a supernet), the vocabulary
    of the agents' answer schemas (:attr:`schema_title`, :attr:`ops`, :attr:`layers`)
    and, optionally, the defaults of a run (:meth:`run_defaults`).

    Every method that takes ``subspace`` restricts itself to it; ``None`` means the
    whole space.
    """

    name: str
    """Registry name, e.g. ``"nb201"``."""
    ops: tuple[str, ...]
    """All operator names; an operator's id is its index here."""
    layers: tuple[Layer, ...]
    input_nodes: tuple[int, ...] = (0,)
    output_node: int
    zero_op: str = "none"
    """The operator that cuts an edge (used by the degenerate-cell check)."""
    op_comments: dict[str, str] = {}
    """One line per operator, used in the Python class prompt."""
    has_constraints: bool = False
    """Whether :meth:`constraint_problems` can reject a cell (searches skip it if not)."""
    op_code: dict[str, str] = {}
    """Per operator, PyTorch code of a constructor taking the channel count ``C`` (the
    generic class prompt's ``OPS`` table; see :mod:`lapt.spaces.cell_prompt`)."""
    evaluation: Literal["table", "supernet"] = "table"
    """How a cell is measured: looked up in :meth:`benchmark`, or a weight-sharing supernet."""

    # --------------------------------------------------------------- declarations
    def benchmark(self) -> TabularBenchmark:
        """The table of every cell on every task (tabular spaces)."""
        raise SpaceError(f"space {self.name!r} has no benchmark table (it is evaluated by "
                         f"{self.evaluation})")

    def tasks(self) -> dict[str, TaskInfo]:
        """The tasks a cell of this space can be evaluated on, by name."""
        return self.benchmark().tasks

    def task_description(self, task: str) -> str:
        """One line on what the task is and which metric scores it."""
        info = self.benchmark().task(task) if self.evaluation == "table" else self._task(task)
        return f"{info.description}; metric: {info.metric}, higher is better"

    def _task(self, task: str) -> TaskInfo:
        tasks = self.tasks()
        if task not in tasks:
            raise SpaceError(f"unknown task {task!r} for {self.name}; valid: {', '.join(tasks)}")
        return tasks[task]

    @property
    def schema_title(self) -> str:
        """Prefix of the agents' answer-schema names, e.g. ``Nb201`` (``Nb201AnalystAnswer``)."""
        return "".join(part.title() for part in re.split(r"[^A-Za-z0-9]+", self.name) if part)

    def run_defaults(self) -> dict[str, Any] | None:
        """A run config without ``space`` (source, targets, search, ...) that ``lapt run
        NAME`` and ``lapt bench NAME`` use, or ``None`` (built-ins have presets instead)."""
        return None

    # ----------------------------------------------------------------- encodings
    @abc.abstractmethod
    def encode(self, arch: Arch) -> str:
        """The official string of ``arch`` (e.g. the NB201 arch string)."""

    @abc.abstractmethod
    def decode(self, text: str) -> Arch:
        """Parse the official string; raises :class:`SpaceError` naming what is wrong."""

    def arch(self, ops: Sequence[str | int], sources: Sequence[int] | None = None) -> Arch:
        """Build and check an architecture from per-layer ops (names or ids) and sources."""
        if len(ops) != len(self.layers):
            raise SpaceError(
                f"{self.name}: a layer list needs {len(self.layers)} operators, got {len(ops)}"
            )
        if sources is None:
            if any(len(layer.sources) != 1 for layer in self.layers):
                raise SpaceError(f"{self.name}: sources must be given, layers have several")
            sources = [layer.sources[0] for layer in self.layers]
        names = tuple(self.op_name(op, layer=i) for i, op in enumerate(ops))
        return self.check(Arch(names, tuple(int(s) for s in sources)))

    def op_name(self, op: str | int, layer: int | None = None) -> str:
        """Resolve an operator given by name or id; raises naming the valid choices."""
        choices = self.ops if layer is None else self.layers[layer].ops
        where = "" if layer is None else f" at layer {layer} ({self.layers[layer].name})"
        if isinstance(op, bool):
            raise SpaceError(f"{self.name}: operator {op!r}{where} is not a name or an id")
        ascii_id = isinstance(op, str) and 0 < len(op.strip()) <= 4 \
            and all("0" <= c <= "9" for c in op.strip())  # not "²", "④" or 5,000 digits
        if isinstance(op, int) or ascii_id:
            idx = int(op)
            if not 0 <= idx < len(self.ops) or self.ops[idx] not in choices:
                raise SpaceError(
                    f"{self.name}: unknown operator id {short(idx)}{where}; valid: "
                    + ", ".join(f"{self.ops.index(o)}={o}" for o in choices)
                )
            return self.ops[idx]
        if op not in choices:
            raise SpaceError(
                f"{self.name}: unknown operator {short(op)}{where}; valid: " + ", ".join(choices)
            )
        return op

    def check(self, arch: Arch) -> Arch:
        """Return ``arch`` if it belongs to the space, else raise naming the problem."""
        problems = self.arch_problems(arch)
        if problems:
            raise SpaceError(f"{self.name}: invalid architecture: " + "; ".join(problems))
        return arch

    def arch_problems(self, arch: Arch) -> list[str]:
        """Every reason ``arch`` is not in the space (empty if it is)."""
        n = len(self.layers)
        if len(arch.ops) != n or len(arch.sources) != n:
            return [f"needs {n} layers, got {len(arch.ops)} ops and {len(arch.sources)} sources"]
        out = []
        for i, (layer, op, src) in enumerate(zip(self.layers, arch.ops, arch.sources)):
            if op not in layer.ops:
                out.append(f"layer {i} ({layer.name}): unknown operator {op!r}; "
                           f"valid: {', '.join(layer.ops)}")
            if src not in layer.sources:
                out.append(f"layer {i} ({layer.name}): source {src} not among "
                           f"{list(layer.sources)}")
        return out or self.constraint_problems(arch)

    def constraint_problems(self, arch: Arch) -> list[str]:
        """Space-specific constraints across layers (DARTS: distinct inputs per node).

        A space that overrides this sets :attr:`has_constraints`.
        """
        return []

    # ------------------------------------------------------------------ indexing
    @property
    def fixed_sources(self) -> bool:
        return all(len(layer.sources) == 1 for layer in self.layers)

    def index(self, arch: Arch) -> int:
        """Canonical index in ``enumerate()`` order (spaces with fixed sources only)."""
        idx = 0
        for layer, op in zip(self.layers, arch.ops):
            idx = idx * len(layer.ops) + layer.ops.index(op)
        return idx

    def from_index(self, idx: int) -> Arch:
        """Inverse of :meth:`index`."""
        ops: list[str] = []
        for layer in reversed(self.layers):
            idx, r = divmod(idx, len(layer.ops))
            ops.append(layer.ops[r])
        return Arch(tuple(reversed(ops)), tuple(layer.sources[0] for layer in self.layers))

    # ------------------------------------------------------------ (sub)space sets
    def full_subspace(self) -> Subspace:
        """The whole space as a :class:`Subspace`."""
        from ._subspace import LayerChoice, Subspace

        return Subspace(
            space=self.name,
            layers=tuple(LayerChoice(ops=l.ops, sources=l.sources) for l in self.layers),
        )

    def _choices(self, subspace: Subspace | None) -> list[list[tuple[str, int]]]:
        sub = subspace if subspace is not None else self.full_subspace()
        if sub.space != self.name or len(sub.layers) != len(self.layers):
            raise SpaceError(f"subspace of {sub.space!r} with {len(sub.layers)} layers "
                             f"does not fit space {self.name!r} ({len(self.layers)} layers)")
        return [list(itertools.product(c.ops, c.sources)) for c in sub.layers]

    def cardinality(self, subspace: Subspace | None = None) -> int:
        """Number of architectures in the (sub)space."""
        return math.prod(len(c) for c in self._choices(subspace))

    def cells(self, subspace: Subspace | None = None) -> CellChoices:
        """The per-layer choices of the (sub)space (cached): membership, sampling, mutation."""
        from ._choices import CellChoices

        cache: dict[Subspace | None, CellChoices] = self.__dict__.setdefault("_cells", {})
        hit = cache.get(subspace)
        if hit is None:
            if len(cache) > 64:
                cache.clear()
            hit = cache[subspace] = CellChoices(self, subspace)
        return hit

    def contains(self, arch: Arch, subspace: Subspace | None = None) -> bool:
        """Whether ``arch`` lies in the (sub)space."""
        return self.cells(subspace).contains(arch)

    def enumerate(self, subspace: Subspace | None = None) -> Iterator[Arch]:
        """Every architecture of the (sub)space, in canonical order."""
        for combo in itertools.product(*self._choices(subspace)):
            arch = Arch(tuple(o for o, _ in combo), tuple(s for _, s in combo))
            if not self.constraint_problems(arch):
                yield arch

    def sample(self, rng: np.random.Generator, subspace: Subspace | None = None) -> Arch:
        """A uniform sample from the (sub)space."""
        return self.cells(subspace).draw(rng)

    def neighbours(self, arch: Arch, subspace: Subspace | None = None) -> list[Arch]:
        """All architectures of the (sub)space that differ from ``arch`` in one layer."""
        return self.cells(subspace).neighbours(arch)

    def mutate(self, arch: Arch, rng: np.random.Generator,
               subspace: Subspace | None = None) -> Arch:
        """Change one layer of ``arch`` to another choice allowed by the (sub)space.

        Returns ``arch`` itself only when the subspace allows no other one-layer change.
        """
        return self.cells(subspace).mutate(arch, rng)

    # --------------------------------------------------------------------- graph
    def to_graph(self, arch: Arch) -> nx.MultiDiGraph:
        """The cell as a DAG: an edge source->target per layer, with ``op`` and ``layer``."""
        g = nx.MultiDiGraph()
        g.add_nodes_from(self.input_nodes, kind="input")
        for i, (layer, op, src) in enumerate(zip(self.layers, arch.ops, arch.sources)):
            g.add_edge(src, layer.target, op=op, layer=i)
        g.nodes[self.output_node]["kind"] = "output"
        return g

    def is_degenerate(self, arch: Arch) -> bool:
        """True when no path from an input to the output carries only non-zero operators."""
        return not self._live(list(zip(arch.ops, arch.sources)))

    def _live(self, edges_per_layer: list[tuple[str, int]] | list[list[tuple[str, int]]]) -> bool:
        g = nx.DiGraph()
        g.add_nodes_from(self.input_nodes)
        g.add_node(self.output_node)
        for layer, item in zip(self.layers, edges_per_layer):
            pairs = item if isinstance(item, list) else [item]
            for op, src in pairs:
                if op != self.zero_op:
                    g.add_edge(src, layer.target)
        g.add_edges_from(self.output_edges())
        return any(nx.has_path(g, i, self.output_node) for i in self.input_nodes)

    def output_edges(self) -> list[tuple[int, int]]:
        """Fixed edges into the output node that no layer chooses (DARTS' concat)."""
        return []

    def python_class_source(self, subspace: Subspace | None = None) -> str:
        """Source of a runnable ``nn.Module`` class for this space's cells (the class
        prompt). The default is the generic cell of :mod:`lapt.spaces.cell_prompt` built
        from :attr:`op_code` (one op per edge); with ``subspace`` it shows only its choices."""
        from .cell_prompt import generic_class

        return generic_class(self, subspace)

    def has_live_cell(self, subspace: Subspace) -> bool:
        """Whether the subspace holds at least one non-degenerate cell."""
        return self._live(self._choices(subspace))

    def subspace_problems(self, subspace: Subspace) -> list[str]:
        """Space-specific reasons a subspace holds no valid cell (DARTS overrides)."""
        return []

    def describe(self) -> str:
        """One paragraph naming the layers, candidates and cardinality."""
        rows = [f"  layer {i}: {l.name}: ops {list(l.ops)}, sources {list(l.sources)}"
                for i, l in enumerate(self.layers)]
        return (f"{self.name}: {len(self.layers)} layers, {self.cardinality():,} cells\n"
                + "\n".join(rows))
