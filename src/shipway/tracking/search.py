"""Run search: compile a filter and an ORDER BY list into one SQL query over the runs.

The language is parsed by ``shipway.tracking.filters``; this module decides the SQL::

    >>> query = build_query("metrics.acc > 0.9 and params.model = 'rf'", ["metrics.acc desc"])
    >>> pks = conn.scalars(query.limit(101)).all()

Semantics follow SQL's three-valued logic: a comparison on a key the run does not have (or
on a metric whose latest value is NaN, stored as NULL) is unknown, so neither it nor its
negation matches. ``NOT metrics.acc > 0.9`` is ``metrics.acc <= 0.9``; use ``IS NULL`` and
``IS NOT NULL`` to ask about presence. LIKE is case-sensitive and ILIKE is not, on SQLite
and PostgreSQL alike; a backslash escapes ``%`` and ``_``.

Speed: NOT is pushed down to the comparisons first. Each metric, param or tag compared at
the top level of the filter (under AND only) becomes an INNER JOIN on an aliased table, one
alias per key, so SQLite can drive the query from the ``(key, value)`` index; an ORDER BY on
the same key reuses that alias and walks the index in order until the LIMIT is met.
Conditions under OR become correlated EXISTS subqueries.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import FromClause, NamedFromClause

from shipway.errors import FilterSyntaxError, InvalidInput
from shipway.store.tables import experiments, latest_metrics, params, runs, tags
from shipway.tracking.filters import And, Comparison, Node, Not, Or, parse_filter
from shipway.tracking.filters import parse_order_item as _parse_order_item

__all__ = ["OrderKey", "build_query", "parse_filter", "parse_order_by"]

_KEY_TABLES = {"metric": latest_metrics, "param": params, "tag": tags}
_ALIAS_LETTER = {"metric": "m", "param": "p", "tag": "t"}
_NEGATED = {
    "=": "!=",
    "<": ">=",
    ">": "<=",
    "LIKE": "NOT LIKE",
    "ILIKE": "NOT ILIKE",
    "IN": "NOT IN",
    "IS NULL": "IS NOT NULL",
}
_NEGATED.update({v: k for k, v in _NEGATED.items()})


@dataclass(frozen=True)
class OrderKey:
    """One ORDER BY item: ``kind`` is attribute, param, metric or tag."""

    kind: str
    name: str
    descending: bool


def parse_order_by(items: Sequence[str]) -> list[OrderKey]:
    """Parse items such as ``["metrics.acc desc", "params.model", "start_time ASC"]``."""
    keys = []
    for item in items:
        try:
            column, descending = _parse_order_item(item)
        except FilterSyntaxError as exc:
            raise InvalidInput(
                f"invalid order_by item {item!r}: {exc.reason}; "
                "write a column and an optional direction, e.g. 'metrics.acc DESC'",
                details={"order_by": item, "position": exc.position},
            ) from None
        keys.append(OrderKey(column.kind, column.name, descending))
    return keys


def build_query(
    filter_text: str | None,
    order_by: Sequence[str] = (),
    experiment_ids: Sequence[int] | None = None,
    include_deleted: bool = False,
    after: Sequence[Any] | None = None,
) -> sa.Select[Any]:
    """``SELECT runs.pk, k0, k1, …`` matching the filter, in order: ``k*`` are the values
    the rows are ordered by (NULL flags included), which a keyset cursor keeps; with
    ``after`` (a previous row's ``k*``) only the rows that come after it. The caller adds
    LIMIT.

    Raises FilterSyntaxError for a bad filter and InvalidInput for a bad order_by item or
    a cursor whose keys do not fit the order.
    """
    node = parse_filter(filter_text or "")
    keys = parse_order_by(order_by)
    compiler = _QueryCompiler()
    where = compiler.where(node)
    if experiment_ids is not None:
        where.append(runs.c.experiment_id.in_(list(experiment_ids)))
    if not include_deleted:
        where.append(runs.c.deleted == sa.false())
    terms = [term for key in keys for term in compiler.order_terms(key)]
    terms += [(runs.c.start_time, True), (runs.c.pk, True)]
    if after is not None:
        if len(after) != len(terms):
            raise InvalidInput("this cursor belongs to another search; start without a cursor")
        where.append(_after(terms, after))
    columns = [runs.c.pk.label("pk")]
    columns += [expr.label(f"k{i}") for i, (expr, _) in enumerate(terms)]
    return (
        sa.select(*columns)
        .select_from(compiler.from_clause())
        .where(*where)
        .order_by(*(expr.desc() if desc else expr.asc() for expr, desc in terms))
    )


def _after(
    terms: list[tuple[ColumnElement[Any], bool]], last: Sequence[Any]
) -> ColumnElement[bool]:
    """Rows that come after ``last`` in the order of ``terms``: the first term past it, or
    equal to it and the next past it, and so on (a keyset predicate). A NULL is equal to a
    NULL, and nothing comes after a NULL in its own term (NULLs sort last)."""
    options = []
    for i, (expr, desc) in enumerate(terms):
        value = last[i]
        if value is None:
            continue
        same = [
            e.is_(None) if v is None else e == v
            for (e, _), v in zip(terms[:i], last[:i], strict=True)
        ]
        past = expr < value if desc else expr > value
        options.append(sa.and_(*same, past))
    return sa.or_(*options) if options else sa.false()


class _QueryCompiler:
    """Collects the joins while it turns the filter and the order keys into SQL."""

    def __init__(self) -> None:
        self.inner: dict[tuple[str, str], NamedFromClause] = {}
        self.outer: dict[tuple[str, str], NamedFromClause] = {}
        self.non_null: set[tuple[str, str]] = set()  # joined keys whose value can't be NULL

    def where(self, node: Node | None) -> list[ColumnElement[bool]]:
        if node is None:
            return []
        return [self.conjunct(c) for c in _conjuncts(_push_not(node))]

    def conjunct(self, node: Node) -> ColumnElement[bool]:
        keyed = isinstance(node, Comparison) and node.column.kind != "attribute"
        if not keyed or not isinstance(node, Comparison) or node.op == "IS NULL":
            return _condition(node)  # attributes, OR groups and NOT EXISTS need no join
        key = (node.column.kind, node.column.name)
        alias = self.join(self.inner, key)
        if node.column.kind != "metric" or node.op != "IS NOT NULL":
            self.non_null.add(key)
        if node.op == "IS NOT NULL":
            return alias.c.value.is_not(None)
        return _predicate(alias.c.value, node)

    def join(
        self, joins: dict[tuple[str, str], NamedFromClause], key: tuple[str, str]
    ) -> NamedFromClause:
        if key not in joins:
            number = len(self.inner) + len(self.outer) + 1
            joins[key] = _KEY_TABLES[key[0]].alias(f"{_ALIAS_LETTER[key[0]]}_{number}")
        return joins[key]

    def order_terms(self, key: OrderKey) -> list[tuple[ColumnElement[Any], bool]]:
        """(expression, descending) pairs that order by ``key``."""
        column, nullable = self.order_column(key)
        # NULLs last in both directions, portably: false sorts before true.
        flag = sa.case((column.is_(None), 1), else_=0)
        return [(flag, False), (column, key.descending)] if nullable else [(column, key.descending)]

    def order_column(self, key: OrderKey) -> tuple[ColumnElement[Any], bool]:
        if key.kind == "attribute":
            return _attribute_order_column(key.name)
        pair = (key.kind, key.name)
        if pair in self.inner:
            nullable = key.kind == "metric" and pair not in self.non_null
            return self.inner[pair].c.value, nullable
        return self.join(self.outer, pair).c.value, True

    def from_clause(self) -> FromClause:
        source: FromClause = runs
        for joins, outer in ((self.inner, False), (self.outer, True)):
            for (_, name), alias in joins.items():
                on = sa.and_(alias.c.run_pk == runs.c.pk, alias.c.key == name)
                source = source.join(alias, on, isouter=outer)
        return source


def _push_not(node: Node, negate: bool = False) -> Node:
    """The same condition with NOT applied to comparisons only (negation normal form)."""
    if isinstance(node, Not):
        return _push_not(node.operand, not negate)
    if isinstance(node, Comparison):
        return dataclasses.replace(node, op=_NEGATED[node.op]) if negate else node
    operands = tuple(_push_not(operand, negate) for operand in node.operands)
    conjunction = isinstance(node, And) != negate
    return And(operands) if conjunction else Or(operands)


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, And):
        return [c for operand in node.operands for c in _conjuncts(operand)]
    return [node]


def _condition(node: Node) -> ColumnElement[bool]:
    """SQL for a condition in negation normal form, with EXISTS for keyed comparisons."""
    if isinstance(node, And):
        return sa.and_(*(_condition(operand) for operand in node.operands))
    if isinstance(node, Or):
        return sa.or_(*(_condition(operand) for operand in node.operands))
    assert isinstance(node, Comparison), "NOT was pushed down to the comparisons"
    if node.column.kind == "attribute":
        return _attribute_condition(node)
    row = _KEY_TABLES[node.column.kind].alias()
    match = [row.c.run_pk == runs.c.pk, row.c.key == node.column.name]
    if node.op == "IS NULL":
        return ~sa.exists().where(*match, row.c.value.is_not(None))
    return sa.exists().where(*match, _predicate(row.c.value, node))


def _attribute_condition(node: Comparison) -> ColumnElement[bool]:
    name = node.column.name
    if name == "experiment":
        if node.op in ("IS NULL", "IS NOT NULL"):
            return sa.false() if node.op == "IS NULL" else sa.true()
        named = sa.select(experiments.c.id).where(_predicate(experiments.c.name, node))
        return runs.c.experiment_id.in_(named)
    if name == "parent_id":
        if node.op in ("IS NULL", "IS NOT NULL"):
            return _predicate(runs.c.parent_pk, node)
        parent = runs.alias("parent")
        return runs.c.parent_pk.in_(sa.select(parent.c.pk).where(_predicate(parent.c.id, node)))
    return _predicate(runs.c[name], node)


def _attribute_order_column(name: str) -> tuple[ColumnElement[Any], bool]:
    if name == "experiment":
        named = sa.select(experiments.c.name).where(experiments.c.id == runs.c.experiment_id)
        return named.scalar_subquery(), False
    if name == "parent_id":
        parent = runs.alias("parent")
        return sa.select(parent.c.id).where(parent.c.pk == runs.c.parent_pk).scalar_subquery(), True
    column = runs.c[name]
    return column, bool(column.nullable)


def _predicate(column: ColumnElement[Any], node: Comparison) -> ColumnElement[bool]:
    op, value = node.op, node.value
    if op in ("IN", "NOT IN"):
        assert isinstance(value, tuple)
        return column.in_(value) if op == "IN" else column.not_in(value)
    if op in ("IS NULL", "IS NOT NULL"):
        return column.is_(None) if op == "IS NULL" else column.is_not(None)
    if "LIKE" in op:
        pattern = str(value)
        matched = _ILike(column, pattern) if "ILIKE" in op else _Like(column, pattern)
        return ~matched if op.startswith("NOT") else matched
    compared: ColumnElement[bool] = _OPERATORS[op](column, value)
    return compared


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class _Like(FunctionElement[bool]):
    """``value LIKE pattern``, case-sensitive everywhere: SQLite's LIKE ignores case, so there
    it is ``value GLOB pattern`` with the pattern translated."""

    name = "shipway_like"
    inherit_cache = True
    type = sa.Boolean()

    def __init__(self, value: ColumnElement[Any], pattern: str) -> None:
        super().__init__(value, sa.literal(pattern), sa.literal(_glob_from_like(pattern)))


class _ILike(FunctionElement[bool]):
    """``value ILIKE pattern``; SQLite's own LIKE already ignores (ASCII) case."""

    name = "shipway_ilike"
    inherit_cache = True
    type = sa.Boolean()

    def __init__(self, value: ColumnElement[Any], pattern: str) -> None:
        super().__init__(value, sa.literal(pattern))


def _render(element: FunctionElement[bool], compiler: SQLCompiler, template: str, **kw: Any) -> str:
    args = [compiler.process(clause, **kw) for clause in element.clauses]
    return template.format(*args)


@compiles(_Like)
def _like_default(element: _Like, compiler: SQLCompiler, **kw: Any) -> str:
    return _render(element, compiler, "({0} LIKE {1} ESCAPE '\\')", **kw)


@compiles(_Like, "sqlite")
def _like_sqlite(element: _Like, compiler: SQLCompiler, **kw: Any) -> str:
    return _render(element, compiler, "({0} GLOB {2})", **kw)


@compiles(_ILike)
def _ilike_default(element: _ILike, compiler: SQLCompiler, **kw: Any) -> str:
    return _render(element, compiler, "({0} ILIKE {1} ESCAPE '\\')", **kw)


@compiles(_ILike, "sqlite")
def _ilike_sqlite(element: _ILike, compiler: SQLCompiler, **kw: Any) -> str:
    return _render(element, compiler, "({0} LIKE {1} ESCAPE '\\')", **kw)


def _glob_from_like(pattern: str) -> str:
    """The GLOB pattern matching what LIKE ... ESCAPE '\\' matches."""
    out = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(_glob_literal(next(chars, "")))
        elif char in "%_":
            out.append("*" if char == "%" else "?")
        else:
            out.append(_glob_literal(char))
    return "".join(out)


def _glob_literal(char: str) -> str:
    return f"[{char}]" if char in "*?[" else char


MAX_GROUPS = 1000
SQUARE_LIMIT = 1e150  # a spread this wide cannot be squared in a double: no std then


def group_query(matching: sa.Select[int], by: str) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """Two queries over the runs ``matching`` selects, grouped by ``by`` (``params.X``,
    ``tags.X``, or the attribute ``status`` or ``user``): the run count per group, and
    per group and metric the count, min and max of the latest value and the sums of
    its distance to the group's minimum and of that distance squared (NaN is stored as
    NULL, so it is not counted)."""
    kind, _, name = by.partition(".")
    tables = {"params": params, "tags": tags}
    chosen = matching.order_by(None).subquery("matching")
    if kind in tables and name:
        table = tables[kind].alias("g")
        source = chosen.outerjoin(
            table, sa.and_(table.c.run_pk == chosen.c.pk, table.c.key == name)
        )
        value: ColumnElement[Any] = table.c.value
    elif by in ("status", "user"):
        source = chosen.join(runs, runs.c.pk == chosen.c.pk)
        value = runs.c[by]
    else:
        raise InvalidInput(
            f"group by params.NAME, tags.NAME, status or user, got {by!r}",
            details={"field": "by"},
        )
    counts = (
        sa.select(value.label("value"), sa.func.count().label("runs"))
        .select_from(source)
        .group_by(value)
        .order_by(sa.func.count().desc(), value.is_(None), value)  # NULL last everywhere
        .limit(MAX_GROUPS)
    )
    metric = latest_metrics.alias("lm")
    # each value less its group's minimum, so the spread is summed without losing the
    # digits a large common offset would take (1.7e9 + 1, + 2, + 4), and squared only
    # where that cannot overflow a double
    lowest = sa.func.min(metric.c.value).over(partition_by=[value, metric.c.key])
    rows = (
        sa.select(value.label("value"), metric.c.key, metric.c.value.label("x"), lowest.label("lo"))
        .select_from(source.join(metric, metric.c.run_pk == chosen.c.pk))
        .subquery("rows")
    )
    shifted = rows.c.x - rows.c.lo
    square = sa.case((shifted < SQUARE_LIMIT, shifted * shifted), else_=None)
    stats = sa.select(
        rows.c.value,
        rows.c.key,
        sa.func.count(rows.c.x).label("n"),
        sa.func.sum(shifted).label("spread"),
        sa.func.sum(square).label("squares"),
        sa.func.count(square).label("squared"),
        sa.func.min(rows.c.x).label("low"),
        sa.func.max(rows.c.x).label("high"),
    ).group_by(rows.c.value, rows.c.key)
    return counts, stats
