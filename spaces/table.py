"""Bring your own table: a CSV of evaluated architectures and a small YAML make a space.

The YAML names the operators, the layers (each an edge ``source -> target`` of a cell
with its candidate operators) and the tasks (which CSV columns hold each task's
validation and test metric); the CSV holds one row per architecture: a column per layer
(named as the layer, holding an operator name) and the metric columns. Every cell of the
space (the product of the layers' operators) must have exactly one row::

    name: tiny201                 # the registry name (a plugin's entry-point name)
    description: a slice of NAS-Bench-201
    table: cells.csv              # relative to the YAML
    operators:                    # in id order: name -> comment, or {comment:, code:}
      none: "zero: cuts the edge"
      nor_conv_3x3: {comment: "3x3 conv", code: "lambda C: ReLUConvBN(C, 3)"}
    zero_op: none                 # optional: the operator that cuts an edge
    output: 3                     # optional: the output node (default: the last target)
    layers:
      - {name: e01, source: 0, target: 1}          # all operators
      - {name: e02, source: 0, target: 2, ops: [nor_conv_3x3]}
    tasks:
      cifar10: {metric: accuracy (%), description: CIFAR-10, val: c10_val, test: c10_test}
      latency: {metric: latency (ms), val: ms, goal: min}   # test defaults to val
    run: {source: {task: cifar10, top_k: 10}, targets: [latency]}   # optional defaults

An architecture is written as its layers' operators joined by ``|``. A metric with
``goal: min`` is negated (every metric is searched as higher-is-better) and named
``negated <metric>``. Errors name the file, the line or field, and the valid choices.

Example:
    >>> from pathlib import Path; import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "t.csv").write_text("e01,e12,acc\\nskip,conv,1\\nskip,skip,0\\n"
    ...                              "conv,conv,3\\nconv,skip,2\\n")
    >>> _ = (d / "t.yaml").write_text("name: t\\ntable: t.csv\\noperators: {skip: id, conv: c}"
    ...     "\\nlayers: [{name: e01, source: 0, target: 1}, {name: e12, source: 1, target: 2}]"
    ...     "\\ntasks: {a: {metric: acc, val: acc}}\\n")
    >>> space = TableSpace.from_yaml(d / "t.yaml")
    >>> space.benchmark().lookup(space.decode("conv|conv"), "a").rank
    1
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._base import Arch, Layer, SearchSpace, SpaceError, TaskInfo
from ._tables import TabularBenchmark

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$"
SEP = "|"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OperatorSpec(_Strict):
    """An operator: a comment for the class prompt, and optionally its PyTorch code."""

    comment: str = ""
    code: str | None = Field(None, description="constructor taking C, e.g. 'lambda C: ...'")


class LayerSpec(_Strict):
    """One layer: an edge from ``source`` to ``target`` choosing among ``ops``."""

    name: str = Field(pattern=_NAME)
    source: int = Field(ge=0)
    target: int = Field(ge=1)
    ops: list[str] | None = Field(None, min_length=1, description="default: every operator")


class TaskSpec(_Strict):
    """A task: the CSV columns of its metric and what the metric means."""

    metric: str
    description: str = ""
    val: str = Field(description="CSV column searched on")
    test: str | None = Field(None, description="CSV column reported (default: val)")
    goal: Literal["max", "min"] = "max"


class TableSpec(_Strict):
    """The YAML of a :class:`TableSpace`."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    description: str = ""
    table: str
    operators: dict[str, OperatorSpec] = Field(min_length=1)
    zero_op: str | None = None
    output: int | None = None
    layers: list[LayerSpec] = Field(min_length=1)
    tasks: dict[str, TaskSpec] = Field(min_length=1)
    run: dict[str, Any] | None = None
    citation: str = ""

    @field_validator("operators", mode="before")
    @classmethod
    def _comments(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: {"comment": c} if isinstance(c, str) else {} if c is None else c
                    for k, c in v.items()}
        return v


def _spec(path: Path) -> TableSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise SpaceError(f"{path}: cannot read the space YAML: {err}") from None
    except yaml.YAMLError as err:
        raise SpaceError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise SpaceError(f"{path}: expected a mapping with name, table, operators, layers, "
                         "tasks")
    try:
        spec = TableSpec.model_validate(data)
    except ValidationError as err:
        lines = [f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in err.errors()]
        raise SpaceError(f"{path}: invalid space YAML (fields: name, description, table, "
                         "operators, zero_op, output, layers, tasks, run, citation):\n  "
                         + "\n  ".join(lines)) from None
    problems = []
    ops = list(spec.operators)
    problems += [f"operators: {o!r} is not a name (letters, digits, _ . + -)"
                 for o in ops if not re.match(_NAME, o)]
    if spec.zero_op is not None and spec.zero_op not in ops:
        problems.append(f"zero_op: {spec.zero_op!r} is not an operator; valid: {', '.join(ops)}")
    seen: set[str] = set()
    for i, l in enumerate(spec.layers):
        bad = [o for o in l.ops or () if o not in ops]
        if bad:
            problems.append(f"layers[{i}] ({l.name}): unknown operators {bad}; valid: "
                            f"{', '.join(ops)}")
        if l.source >= l.target:
            problems.append(f"layers[{i}] ({l.name}): source {l.source} must come before "
                            f"target {l.target} (a cell is feed-forward)")
        if l.name in seen:
            problems.append(f"layers[{i}]: the name {l.name!r} is used twice")
        seen.add(l.name)
    if problems:
        raise SpaceError(f"{path}: invalid space YAML:\n  " + "\n  ".join(problems))
    return spec


class TableSpace(SearchSpace):
    """A tabular space from a YAML (operators, layers, tasks) and a CSV (every cell's metrics).

    Build it with :meth:`from_yaml`; a plugin returns it from its entry point.
    """

    evaluation = "table"

    def __init__(self, spec: TableSpec, table: Path, where: Path | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.ops = tuple(spec.operators)
        self.layers = tuple(Layer(l.name, tuple(o for o in self.ops if o in (l.ops or self.ops)),
                                  (l.source,), l.target) for l in spec.layers)
        targets = {l.target for l in self.layers}
        sources = {l.source for l in spec.layers}
        self.input_nodes = tuple(sorted(sources - targets))
        self.output_node = spec.output if spec.output is not None else max(targets)
        self.zero_op = spec.zero_op or ""
        self.op_comments = {o: s.comment or o for o, s in spec.operators.items()}
        self.op_code = {o: s.code for o, s in spec.operators.items() if s.code}
        self.where = where or table
        self._table = _read_table(self, table)

    @classmethod
    def from_yaml(cls, path: str | Path) -> TableSpace:
        """The space that the YAML at ``path`` declares (its CSV is read and checked now).

        Raises:
            SpaceError: naming the file and every problem, with the valid choices.
        """
        path = Path(path)
        spec = _spec(path)
        return cls(spec, path.parent / spec.table, path)

    def benchmark(self) -> TabularBenchmark:
        return self._table

    def run_defaults(self) -> dict[str, Any] | None:
        return dict(self.spec.run) if self.spec.run is not None else None

    def encode(self, arch: Arch) -> str:
        """The layers' operators joined by ``|``, e.g. ``nor_conv_3x3|skip_connect|none``."""
        return SEP.join(self.check(arch).ops)

    def decode(self, text: str) -> Arch:
        """Parse ``op|op|...`` (one operator name or id per layer)."""
        if not isinstance(text, str) or text.count(SEP) != len(self.layers) - 1:
            raise SpaceError(f"{self.name}: malformed architecture {text!r}: expected "
                             f"{len(self.layers)} operators joined by '{SEP}', e.g. "
                             + SEP.join(l.ops[0] for l in self.layers))
        return self.arch([op.strip() for op in text.split(SEP)])


def _read_table(space: TableSpace, path: Path) -> TabularBenchmark:
    """Read and check the CSV: columns, operators, numbers, one row per cell."""
    spec = space.spec
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise SpaceError(f"{space.where}: table {path}: cannot read it: {err}") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as err:
        raise SpaceError(f"{path}: malformed CSV: {err}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise SpaceError(f"{path}: needs a header and at least one row")
    header = [c.strip() for c in rows[0]]
    col = {c: i for i, c in enumerate(header)}
    need = [(l.name, "layer") for l in space.layers] + [
        (c, f"task {t} ({what})") for t, s in spec.tasks.items()
        for what, c in (("val", s.val), ("test", s.test)) if c is not None]
    missing = [f"{c!r} ({why})" for c, why in need if c not in col]
    if missing:
        raise SpaceError(f"{path}: missing columns {', '.join(missing)}; the header has "
                         f"{', '.join(header)}")
    n = math.prod(len(l.ops) for l in space.layers)
    metrics = {t: (s.val, s.test or s.val) for t, s in spec.tasks.items()}
    val = np.full((len(metrics), n), np.nan)
    test = np.full((len(metrics), n), np.nan)
    first_line: dict[int, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise SpaceError(f"{path} line {line}: {len(row)} fields, the header has "
                             f"{len(header)}")
        ops = []
        for i, layer in enumerate(space.layers):
            op = row[col[layer.name]].strip()
            if op not in layer.ops:
                raise SpaceError(f"{path} line {line}: column {layer.name}: unknown operator "
                                 f"{op!r}; valid: {', '.join(layer.ops)}")
            ops.append(op)
        idx = space.index(Arch(tuple(ops), tuple(l.sources[0] for l in space.layers)))
        if idx in first_line:
            raise SpaceError(f"{path} lines {first_line[idx]} and {line}: the same "
                             f"architecture {SEP.join(ops)} twice; keep one row per cell")
        first_line[idx] = line
        for k, (t, (vc, tc)) in enumerate(metrics.items()):
            sign = -1.0 if spec.tasks[t].goal == "min" else 1.0
            for out, c in ((val, vc), (test, tc)):
                try:
                    x = float(row[col[c]])
                except ValueError:
                    x = math.nan
                if not math.isfinite(x):
                    raise SpaceError(f"{path} line {line}: column {c} (task {t}): "
                                     f"{row[col[c]]!r} is not a finite number")
                out[k, idx] = sign * x
    if len(first_line) < n:
        gap = next(i for i in range(n) if i not in first_line)
        raise SpaceError(
            f"{path}: the table holds {len(first_line)} of the space's {n} cells (the product "
            f"of the layers' operators); missing e.g. {SEP.join(space.from_index(gap).ops)}; "
            "add the rows, or narrow the layers' ops in the YAML to what the table covers")
    tasks = {t: TaskInfo(t, ("negated " if s.goal == "min" else "") + s.metric,
                         s.description or t) for t, s in spec.tasks.items()}
    arrays = {"val": val} if all(s.test is None for s in spec.tasks.values()) else \
        {"val": val, "test": test}
    return TabularBenchmark(space=space, tasks=tasks, source=str(path),
                            citation=spec.citation or spec.description, arrays=arrays)
