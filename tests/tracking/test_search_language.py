"""The run search language: the parser on its own, then real queries on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from shipway.errors import FilterSyntaxError, InvalidInput
from shipway.store.db import Database, make_engine
from shipway.store.tables import experiments, latest_metrics, metadata, params, runs, tags
from shipway.testing.databases import empty_database
from shipway.tracking.filters import And, Comparison, Node, Not, Or
from shipway.tracking.search import OrderKey, build_query, parse_filter, parse_order_by


def ms(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def shape(node: Node | None) -> str:
    """A compact rendering of a syntax tree, to compare in assertions."""
    if isinstance(node, Comparison):
        return f"{node.column.kind}:{node.column.name} {node.op} {node.value!r}"
    if isinstance(node, Not):
        return f"NOT({shape(node.operand)})"
    if isinstance(node, And | Or):
        word = "AND" if isinstance(node, And) else "OR"
        return f"{word}({', '.join(shape(o) for o in node.operands)})"
    return "None"


def only(text: str) -> Comparison:
    node = parse_filter(text)
    assert isinstance(node, Comparison)
    return node


# --- parser ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_filter_is_none(text: str) -> None:
    assert parse_filter(text) is None


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    node = parse_filter("params.a = 'x' or params.b = 'y' and not params.c = 'z'")
    assert shape(node) == ("OR(param:a = 'x', AND(param:b = 'y', NOT(param:c = 'z')))")


def test_parentheses_override_precedence_and_chains_are_flat() -> None:
    node = parse_filter("(tags.a = 'x' or tags.b = 'y') and metrics.m > 1 and metrics.n < 2")
    assert shape(node) == ("AND(OR(tag:a = 'x', tag:b = 'y'), metric:m > 1.0, metric:n < 2.0)")
    assert shape(parse_filter("not not ((params.a = 'x'))")) == "NOT(NOT(param:a = 'x'))"


def test_keywords_prefixes_and_attributes_are_case_insensitive() -> None:
    node = parse_filter(
        "PARAMS.Model = 'rf' AnD Metrics.Acc >= 1 oR NoT TAGS.t LiKe 'q%' and START_TIME > 0"
    )
    assert shape(node) == (
        "OR(AND(param:Model = 'rf', metric:Acc >= 1.0), "
        "AND(NOT(tag:t LIKE 'q%'), attribute:start_time > 0))"
    )


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("param.x = 'a'", "param", "x"),
        ("metric.x = 1", "metric", "x"),
        ("tag.x = 'a'", "tag", "x"),
        ("attribute.name = 'a'", "attribute", "name"),
        ("attr.run_name = 'a'", "attribute", "name"),
        ("attributes.run_id = 'a'", "attribute", "id"),
        ("run_id = 'a'", "attribute", "id"),
        ("User = 'a'", "attribute", "user"),
        ("params.`learning rate` = 'a'", "param", "learning rate"),
        ('metrics."val.acc" = 1', "metric", "val.acc"),
        ("metrics.val.acc = 1", "metric", "val.acc"),
        ("tags.`a``b` = 'a'", "tag", "a`b"),
        ("tags.mlflow/source-type = 'a'", "tag", "mlflow/source-type"),
        ("attributes.`git_branch` = 'a'", "attribute", "git_branch"),
    ],
)
def test_columns(text: str, kind: str, name: str) -> None:
    column = only(text).column
    assert (column.kind, column.name) == (kind, name)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'rf'", "rf"),
        ('"rf"', "rf"),
        (r"'it\'s'", "it's"),
        ("'it''s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        ('"say ""hi"""', 'say "hi"'),
        (r"'back\\slash'", "back\\slash"),
        (r"'a\_b'", r"a\_b"),  # other backslashes reach LIKE untouched
        ("''", ""),
        ("'or and not'", "or and not"),
    ],
)
def test_string_literals(literal: str, value: str) -> None:
    assert only(f"params.p = {literal}").value == value


@pytest.mark.parametrize(
    ("literal", "value"),
    [("1", 1.0), ("-2", -2.0), ("0.5", 0.5), (".5", 0.5), ("1e3", 1000.0), ("-2.5E-3", -0.0025)],
)
def test_number_literals(literal: str, value: float) -> None:
    assert only(f"metrics.m > {literal}").value == value


@pytest.mark.parametrize(
    ("op", "canonical"),
    [
        ("=", "="),
        ("==", "="),
        ("!=", "!="),
        ("<>", "!="),
        ("<", "<"),
        ("<=", "<="),
        (">", ">"),
        (">=", ">="),
    ],
)
def test_symbol_operators(op: str, canonical: str) -> None:
    assert only(f"metrics.m {op} 1").op == canonical
    assert only(f"metrics.m{op}1").op == canonical


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ("params.p LIKE 'a%'", "LIKE", "a%"),
        ("params.p ilike 'a%'", "ILIKE", "a%"),
        ("params.p NOT LIKE 'a%'", "NOT LIKE", "a%"),
        ("params.p not ilike 'a%'", "NOT ILIKE", "a%"),
        ("params.p IN ('a', \"b\")", "IN", ("a", "b")),
        ("params.p in ('a',)", "IN", ("a",)),
        ("params.p NOT IN ('a')", "NOT IN", ("a",)),
        ("params.p IS NULL", "IS NULL", None),
        ("params.p is not null", "IS NOT NULL", None),
        ("metrics.m IN (1, 2.5)", "IN", (1.0, 2.5)),
        ("metrics.m is null", "IS NULL", None),
    ],
)
def test_word_operators(text: str, op: str, value: Any) -> None:
    node = only(text)
    assert (node.op, node.value) == (op, value)


def test_a_bare_number_for_a_param_or_tag_is_compared_as_written() -> None:
    assert only("params.depth = 8").value == "8"
    assert only("tags.lr != 1e-3").value == "1e-3"
    assert only("params.depth in (8, '16')").value == ("8", "16")


def test_typed_attributes_are_converted() -> None:
    assert only("start_time > '2026-01-31'").value == ms("2026-01-31T00:00:00+00:00")
    assert only("end_time < '2026-01-31T12:00:00Z'").value == ms("2026-01-31T12:00:00+00:00")
    assert only("start_time = '2026-01-31T14:00:00+02:00'").value == ms("2026-01-31T12:00Z")
    assert only("start_time >= 1769860800000").value == 1769860800000
    assert only("start_time in ('2026-01-31', 0)").value == (ms("2026-01-31T00:00Z"), 0)
    assert only("status = 'FINISHED'").value == "finished"
    assert only("git_dirty = TRUE").value is True
    assert only("experiment_id = '3'").value == 3
    assert only("experiment_id IN (3, 4)").value == (3, 4)


def test_comparison_records_the_operator_position() -> None:
    assert only("metrics.acc   >= 1").position == 14


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("metrics.acc 0.9", 12, "expected an operator after 'metrics.acc'"),
        ("metrics.acc > ", 14, "expected a value after '>'"),
        ("metrics.acc >", 13, "expected a value after '>'"),
        ("params.p in ('a', ", 18, "expected a value after ','"),
        ("params.model = 'rf", 15, "unterminated string"),
        ('params.model = "rf', 15, "unterminated string"),
        ("params.`a b = 1", 7, "unterminated quoted key"),
        ("(metrics.acc > 1", 0, "unbalanced parentheses"),
        ("((metrics.acc > 1)", 0, "unbalanced parentheses"),
        ("(metrics.acc > 1 params.a = 'x')", 17, "expected AND, OR or ')'"),
        ("metrics.acc > 1)", 15, "unmatched ')'"),
        ("metrics.acc > 1 params.x = 'a'", 16, "unexpected 'params.x'"),
        ("metrics.acc > 1 and", 19, "expected a column"),
        ("()", 1, "expected a column"),
        ("= 1", 0, "expected a column"),
        ("params.model in ()", 16, "empty IN list"),
        ("params.model in 'a'", 16, "expected '('"),
        ("params.model in ('a' 'b')", 21, "expected ',' or ')'"),
        ("foo.bar = 1", 0, "unknown prefix 'foo'"),
        ("bogus = 1", 0, "unknown attribute 'bogus'"),
        ("attributes.bogus = 1", 11, "unknown attribute 'bogus'"),
        ("params. = 1", 7, "expected a key after 'params.'"),
        ("params.'x' = 1", 7, "expected a key after 'params.'"),
        ("params.`` = 'a'", 7, "empty key"),
        ("params.depth > 5", 13, "params are strings, so > does not apply; compare with = or LIKE"),
        ("tags.t <= 'a'", 7, "tags are strings"),
        ("name < 'a'", 5, "name is a string"),
        ("params.flag = true", 14, "quote the value"),
        ("params.p like 5", 14, "LIKE needs a quoted pattern"),
        ("name like 'a\\\\'", 10, "lone backslash"),
        ("metrics.acc > '0.9'", 14, "remove the quotes: 0.9"),
        ("metrics.acc = 'high'", 14, "metrics are numbers"),
        ("metrics.acc = false", 14, "metrics are numbers"),
        ("metrics.acc like '0.9%'", 12, "metrics are numbers, so LIKE does not apply"),
        ("metrics.acc in (1, 'x')", 19, "metrics are numbers"),
        ("status = 'done'", 9, "status must be one of running, finished, failed, killed"),
        ("status like 'r%'", 7, "status is a name"),
        ("git_dirty = 'yes'", 12, "compares with true or false"),
        ("git_dirty > false", 10, "git_dirty is true or false"),
        ("start_time > 'yesterday'", 13, "ISO-8601"),
        ("start_time > true", 13, "expected a time"),
        ("start_time like '2026%'", 11, "start_time is a number"),
        ("experiment_id = 'abc'", 16, "experiment_id is a whole number"),
        ("experiment_id = 1.5", 16, "experiment_id is a whole number"),
        ("params.model = null", 15, "IS NULL or IS NOT NULL"),
        ("params.model is 'x'", 16, "expected NULL or NOT NULL after IS"),
        ("params.model = ('a')", 15, "needs IN"),
        ("params.model not = 'a'", 13, "expected an operator"),
        ("params.model # 'a'", 13, "unexpected character '#'"),
    ],
)
def test_errors_point_at_the_offending_token(text: str, position: int, reason: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    assert reason in caught.value.reason
    assert caught.value.position == position


def test_nesting_is_limited() -> None:
    assert parse_filter(" and ".join(["(not params.a = 'x')"] * 80)) is not None
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter("not " * 51 + "params.a = 'x'")
    assert "nested deeper than 50" in caught.value.reason
    assert caught.value.position == 200


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(FilterSyntaxError) as prefix:
        parse_filter("metrix.acc > 1")
    assert "params., metrics., tags. or attributes." in prefix.value.reason
    with pytest.raises(FilterSyntaxError) as attribute:
        parse_filter("colour = 'red'")
    assert "start_time" in attribute.value.reason and "parent_id" in attribute.value.reason


def test_error_message_shows_the_filter_and_a_caret() -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter("metrics.acc 0.9")
    assert str(caught.value).splitlines()[1:] == ["  metrics.acc 0.9", "              ^"]


def test_parse_order_by() -> None:
    items = ["metrics.acc desc", "params.model", "start_time ASC", "tags.`a b` DESC", "run_id"]
    assert parse_order_by(items) == [
        OrderKey("metric", "acc", True),
        OrderKey("param", "model", False),
        OrderKey("attribute", "start_time", False),
        OrderKey("tag", "a b", True),
        OrderKey("attribute", "id", False),
    ]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("metrics.acc sideways", "expected ASC or DESC"),
        ("metrics.acc desc 2", "unexpected '2'"),
        ("", "expected a column"),
        ("bogus", "unknown attribute"),
        ("metrics.acc > 1", "expected ASC or DESC"),
    ],
)
def test_parse_order_by_errors_name_the_item(item: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_order_by(["start_time", item])
    assert not isinstance(caught.value, FilterSyntaxError)
    assert f"invalid order_by item {item!r}" in caught.value.message
    assert reason in caught.value.message


def test_top_level_conjuncts_join_and_share_the_order_alias() -> None:
    query = build_query("metrics.acc > 0.9 and params.model = 'rf'", ["metrics.acc desc"])
    text = str(query.compile(dialect=sqlite.dialect()))
    assert "JOIN latest_metrics AS m_1 ON m_1.run_pk = runs.pk" in text
    assert "JOIN params AS p_2 ON p_2.run_pk = runs.pk" in text
    # The filter already excludes NULL, so the index order is the result order.
    assert "ORDER BY m_1.value DESC, runs.start_time DESC, runs.pk DESC" in text
    assert "EXISTS" not in text


# --- queries on a real database -------------------------------------------------------


@dataclass
class Runs:
    engine: sa.Engine
    pk_to_name: dict[int, str]
    experiment_id: dict[str, int]

    def search(self, filter_text: str | None, order_by: Sequence[str] = (), **kw: Any) -> list[str]:
        with self.engine.connect() as conn:
            pks = conn.execute(build_query(filter_text, order_by, **kw)).scalars().all()
        return [self.pk_to_name[pk] for pk in pks]


# name, experiment, status, user, start, end, git_dirty, deleted, params, metrics, tags
# fmt: off
RUNS: list[tuple[Any, ...]] = [
    ("r1", "baseline", "finished", "alice", "2026-01-10", "2026-01-11", False, False,
     {"model": "rf", "depth": "8", "learning rate": "0.1"},
     {"acc": 0.95, "loss": 0.2, "val.acc": 0.9}, {"team": "vision"}),
    ("r2", "baseline", "finished", "bob", "2026-01-20", "2026-01-21", False, False,
     {"model": "rf", "depth": "16"}, {"acc": 0.85, "loss": 0.3}, {"team": "nlp"}),
    ("r3", "tuning", "failed", "alice", "2026-02-01", "2026-02-02", None, False,
     {"model": "xgb", "depth": "8"}, {"acc": None, "loss": 0.25}, {}),
    ("r4", "tuning", "running", "carol", "2026-02-05", None, None, False,
     {"model": "xgb"}, {"acc": 0.92}, {"team": "Vision"}),
    ("r5", "baseline", "killed", "bob", "2026-01-31T12:00", "2026-02-03", True, False,
     {"model": "logreg"}, {}, {}),
    ("r6", "baseline", "finished", "alice", "2026-01-15", "2026-01-16", False, True,
     {"model": "rf"}, {"acc": 0.99}, {"team": "vision"}),
]
# fmt: on
# The display names of r3 and r4 test LIKE's "_" and its escape.
DESCRIPTIONS = {"r1": "first try", "r2": "uses [brackets], * and ?"}
DISPLAY_NAMES = {"r3": "xgb_1", "r4": "xgb-2", "r1": "rf-small", "r2": "rf-large"}


def populate(engine: sa.Engine) -> Runs:
    metadata.create_all(engine)
    with engine.begin() as conn:
        for name in ("baseline", "tuning"):
            conn.execute(experiments.insert().values(name=name, created_at=0, created_by="t"))
        experiment_id = dict(conn.execute(sa.select(experiments.c.name, experiments.c.id)).all())
        for row in RUNS:
            insert_run(conn, experiment_id, *row)
        pk_of = dict(conn.execute(sa.select(runs.c.name, runs.c.pk)).all())
        pk_to_name = {pk: _short(name) for name, pk in pk_of.items()}
        conn.execute(
            runs.update().where(runs.c.pk == pk_of["xgb-2"]).values(parent_pk=pk_of["xgb_1"])
        )
    return Runs(engine, pk_to_name, experiment_id)


def _short(display_name: str) -> str:
    return {v: k for k, v in DISPLAY_NAMES.items()}.get(display_name, display_name)


def insert_run(conn: sa.Connection, experiment_id: dict[str, int], *row: Any) -> None:
    name, experiment, status, user, start, end, dirty, deleted, prms, mets, tgs = row
    pk = conn.execute(
        runs.insert().returning(runs.c.pk),
        {
            "id": f"{name}-id",
            "experiment_id": experiment_id[experiment],
            "name": DISPLAY_NAMES.get(name, name),
            "description": DESCRIPTIONS.get(name, ""),
            "status": status,
            "user": user,
            "start_time": ms(start + "+00:00"),
            "end_time": None if end is None else ms(end + "+00:00"),
            "git_commit": "abc123" if name == "r1" else None,
            "git_dirty": dirty,
            "deleted": deleted,
        },
    ).scalar_one()
    for table, values in ((params, prms), (tags, tgs)):
        for key, value in values.items():
            conn.execute(table.insert(), {"run_pk": pk, "key": key, "value": value})
    for key, value in mets.items():
        row_values = {"run_pk": pk, "key": key, "value": value, "step": 1, "timestamp": 0}
        conn.execute(latest_metrics.insert(), row_values)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """The session's PostgreSQL database (see conftest.py), emptied, or a SQLite file."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("search") / "shipway.db"
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_database")
        database = Database(url)
        database.migrate()  # the shared database must keep its migration history
        database.dispose()
        empty_database(url)
    engine = make_engine(url)
    yield populate(engine)
    engine.dispose()
    if request.param == "postgresql":
        empty_database(url)  # leave it as the next test expects it


ALL = ["r4", "r3", "r5", "r2", "r1"]  # newest first; r6 is deleted


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        (None, ALL),
        ("  ", ALL),
        ("metrics.acc > 0.9", ["r4", "r1"]),
        ("metrics.acc > 0.9 and params.model = 'rf'", ["r1"]),
        ("metrics.acc > 0.8 and metrics.acc < 0.93", ["r4", "r2"]),
        ("params.model = 'rf' or params.model = 'xgb'", ["r4", "r3", "r2", "r1"]),
        ("params.model = 'xgb' or params.model = 'rf' and metrics.acc > 0.9", ["r4", "r3", "r1"]),
        ("(params.model = 'xgb' or params.model = 'rf') and metrics.acc > 0.9", ["r4", "r1"]),
        ("not params.model = 'rf'", ["r4", "r3", "r5"]),
        # Missing and NaN values are unknown: neither a comparison nor its negation matches.
        ("not metrics.acc > 0.9", ["r2"]),
        ("metrics.acc <= 0.9", ["r2"]),
        ("not (params.model = 'rf' or tags.team = 'nlp')", ["r4"]),
        ("params.model != 'rf' and tags.team != 'nlp'", ["r4"]),
        ("metrics.acc is null", ["r3", "r5"]),
        ("metrics.acc is not null", ["r4", "r2", "r1"]),
        ("not metrics.acc is null and metrics.loss is null", ["r4"]),
        ("tags.team is null or metrics.loss > 0.28", ["r3", "r5", "r2"]),
        ("name like 'rf-%'", ["r2", "r1"]),
        ("name like 'RF-%'", []),
        ("name ilike 'RF-%'", ["r2", "r1"]),
        ("name like 'xgb_%'", ["r4", "r3"]),
        ("name like 'xgb\\_%'", ["r3"]),
        ("name like '%\\%%'", []),
        ("tags.team like 'vis%'", ["r1"]),
        ("tags.team ilike 'vis%'", ["r4", "r1"]),
        ("tags.team not like 'vis%'", ["r4", "r2"]),
        ("tags.team not ilike 'VIS%'", ["r2"]),
        ("description like '%try%' and git_commit = 'abc123'", ["r1"]),
        # GLOB's own wildcards in a LIKE pattern are literals on SQLite too
        ("description like '%[brackets], *%'", ["r2"]),
        ("description like '%?'", ["r2"]),
        ("description like '%[b%'", ["r2"]),
        ("description like 'first_try'", ["r1"]),
        ("params.model in ('rf', 'logreg')", ["r5", "r2", "r1"]),
        ("params.model not in ('rf', 'logreg')", ["r4", "r3"]),
        ("status in ('failed', 'killed')", ["r3", "r5"]),
        ("attributes.status = 'FINISHED'", ["r2", "r1"]),
        ("status <> 'finished'", ["r4", "r3", "r5"]),
        ("user = 'alice' and not status = 'failed'", ["r1"]),
        ("params.depth = 8", ["r3", "r1"]),
        ("params.depth in (8, 16)", ["r3", "r2", "r1"]),
        ("params.`learning rate` = '0.1'", ["r1"]),
        ('metrics."val.acc" >= 0.9', ["r1"]),
        ("start_time >= '2026-01-31'", ["r4", "r3", "r5"]),
        ("start_time < '2026-01-31T12:00:00Z'", ["r2", "r1"]),
        ("start_time = '2026-01-31T12:00:00'", ["r5"]),
        ("start_time > '2026-01-31T13:00:00+02:00'", ["r4", "r3", "r5"]),
        (f"start_time >= {ms('2026-02-01T00:00+00:00')}", ["r4", "r3"]),
        ("end_time is null", ["r4"]),
        ("end_time > '2026-02-02T12:00Z'", ["r5"]),
        ("experiment = 'tuning'", ["r4", "r3"]),
        ("experiment != 'tuning'", ["r5", "r2", "r1"]),
        ("experiment like 'base%' and not params.model = 'rf'", ["r5"]),
        ("parent_id = 'r3-id'", ["r4"]),
        ("parent_id is not null or run_id = 'r1-id'", ["r4", "r1"]),
        ("parent_id is null", ["r3", "r5", "r2", "r1"]),
        ("git_dirty = true", ["r5"]),
        ("git_dirty = false", ["r2", "r1"]),
        ("not git_dirty = true", ["r2", "r1"]),
        ("git_dirty is null", ["r4", "r3"]),
        ("id in ('r2-id', 'r6-id')", ["r2"]),
    ],
)
def test_filters_select_exactly_the_expected_runs(
    db: Runs, filter_text: str | None, expected: list[str]
) -> None:
    assert db.search(filter_text) == expected


@pytest.mark.parametrize(
    ("filter_text", "order_by", "expected"),
    [
        (None, ["metrics.acc desc"], ["r1", "r4", "r2", "r3", "r5"]),
        (None, ["metrics.acc"], ["r2", "r4", "r1", "r3", "r5"]),
        ("metrics.acc > 0.8", ["metrics.acc DESC"], ["r1", "r4", "r2"]),
        ("metrics.acc is not null", ["metrics.acc"], ["r2", "r4", "r1"]),
        ("params.model != 'logreg'", ["metrics.loss desc"], ["r2", "r3", "r1", "r4"]),
        (None, ["params.model desc", "start_time asc"], ["r3", "r4", "r1", "r2", "r5"]),
        ("params.depth is null or params.depth = 8", ["params.depth"], ["r3", "r1", "r4", "r5"]),
        (None, ["end_time desc"], ["r5", "r3", "r2", "r1", "r4"]),
        (None, ["end_time"], ["r1", "r2", "r3", "r5", "r4"]),
        (None, ["start_time ASC"], ["r1", "r2", "r5", "r3", "r4"]),
        (None, ["experiment desc", "start_time"], ["r3", "r4", "r1", "r2", "r5"]),
        (None, ["git_dirty desc"], ["r5", "r2", "r1", "r4", "r3"]),
        (None, ["parent_id"], ["r4", "r3", "r5", "r2", "r1"]),
    ],
)
def test_order_by_puts_nulls_last_in_both_directions(
    db: Runs, filter_text: str | None, order_by: list[str], expected: list[str]
) -> None:
    assert db.search(filter_text, order_by) == expected


def test_deleted_runs_are_excluded_unless_asked_for(db: Runs) -> None:
    assert "r6" not in db.search(None)
    assert db.search("metrics.acc > 0.9", include_deleted=True) == ["r4", "r6", "r1"]
    assert db.search(None, ["metrics.acc desc"], include_deleted=True)[:2] == ["r6", "r1"]


def test_experiment_ids_restrict_the_search(db: Runs) -> None:
    tuning = db.experiment_id["tuning"]
    assert db.search(None, experiment_ids=[tuning]) == ["r4", "r3"]
    assert db.search("params.model = 'rf'", experiment_ids=[tuning]) == []
    assert db.search(None, experiment_ids=[]) == []
    assert db.search(f"experiment_id = {tuning}") == ["r4", "r3"]


def test_the_benchmark_query_walks_the_metric_index(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    metadata.create_all(engine)
    query = build_query("metrics.acc > 0.9 and params.model = 'rf'", ["metrics.acc desc"])
    compiled = query.limit(101).compile(engine)
    assert compiled.positiontup is not None
    values = tuple(compiled.params[name] for name in compiled.positiontup)
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values).all()
    engine.dispose()
    details = [row[3] for row in plan]
    assert "ix_latest_metrics_key_value (key=? AND value>?)" in details[0]
    assert not any("FOR ORDER BY" in d and "RIGHT PART" not in d for d in details)
