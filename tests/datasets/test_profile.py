"""Profiles of CSV, Parquet and JSON lines files, their diffs, and their markdown."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipway.datasets.profile import (
    diff_profiles,
    population_stability_index,
    profile_file,
    table_format,
)
from shipway.datasets.sheets import diff_to_markdown, profile_to_markdown
from shipway.errors import InvalidInput

CSV = """\
id,age,plan,score,active,joined
1,30,basic,1.5,true,2024-01-02
2,,pro,2.5,false,2024-03-04
3,50,basic,,true,2023-12-31
4,40,basic,4.5,,2024-02-01
"""


def columns(profile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in profile["columns"]}


def assert_json_safe(value: dict[str, Any]) -> None:
    assert json.loads(json.dumps(value, allow_nan=False)) == value


def parquet(path: Path, data: dict[str, Any]) -> Path:
    pq.write_table(pa.table(data), path)
    return path


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("data/train.csv", "csv"),
        ("TRAIN.CSV", "csv"),
        ("a/b.parquet", "parquet"),
        ("b.PQ", "parquet"),
        ("events.jsonl", "jsonl"),
        ("events.ndjson", "jsonl"),
        ("notes.txt", None),
        ("train.csv.gz", None),
        ("csv", None),
    ],
)
def test_table_format_by_suffix(path: str, fmt: str | None) -> None:
    assert table_format(path) == fmt


def test_csv_profile(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(CSV)
    profile = profile_file(path, "csv")
    assert_json_safe(profile)
    assert profile["format"] == "csv"
    assert profile["rows"] == 4
    cols = columns(profile)
    assert list(cols) == ["id", "age", "plan", "score", "active", "joined"]

    age = cols["age"]
    assert (age["type"], age["arrow_type"]) == ("int", "int64")
    assert (age["null_count"], age["null_share"]) == (1, 0.25)
    assert (age["min"], age["max"], age["mean"], age["std"]) == (30, 50, 40.0, 10.0)
    assert age["quantiles"]["0.5"] == 40.0
    assert len(age["histogram"]["edges"]) == 21
    assert sum(age["histogram"]["counts"]) == 3

    plan = cols["plan"]
    assert plan["type"] == "string"
    assert plan["distinct_count"] == 2
    assert plan["top"] == [{"value": "basic", "count": 3}, {"value": "pro", "count": 1}]
    assert (plan["min_length"], plan["max_length"]) == (3, 5)

    score = cols["score"]
    assert score["type"] == "float"
    assert score["null_count"] == 1
    assert score["mean"] == pytest.approx(8.5 / 3)
    assert (score["min"], score["max"], score["nan_count"]) == (1.5, 4.5, 0)

    active = cols["active"]
    assert active["type"] == "bool"
    assert (active["true_count"], active["false_count"], active["null_count"]) == (2, 1, 1)

    joined = cols["joined"]
    assert joined["type"] == "datetime"
    assert (joined["min"], joined["max"]) == ("2023-12-31", "2024-03-04")


def test_parquet_profile(tmp_path: Path) -> None:
    plan = pa.array(["basic", "pro", "basic", None, "team", "basic"]).dictionary_encode()
    table = pa.table(
        {
            "id": pa.array(range(6), pa.int64()),
            "plan": plan,
            "value": [1.0, float("nan"), 3.0, None, float("inf"), 5.0],
            "flag": [True, True, False, None, True, False],
            "at": pa.array(
                [dt.datetime(2024, 1, d, 12, tzinfo=dt.UTC) for d in range(1, 7)],
                pa.timestamp("us", tz="UTC"),
            ),
            "tags": [["a"], [], ["b", "c"], None, ["a"], ["a"]],
        },
        schema=pa.schema(
            [
                pa.field("id", pa.int64(), nullable=False),
                pa.field("plan", plan.type),
                pa.field("value", pa.float64()),
                pa.field("flag", pa.bool_()),
                pa.field("at", pa.timestamp("us", tz="UTC")),
                pa.field("tags", pa.list_(pa.string())),
            ]
        ),
    )
    path = tmp_path / "users.parquet"
    pq.write_table(table, path)
    profile = profile_file(path, "parquet")
    assert_json_safe(profile)
    assert profile["rows"] == 6
    cols = columns(profile)

    assert cols["id"]["nullable"] is False
    assert cols["id"]["null_count"] == 0
    assert (cols["id"]["min"], cols["id"]["max"], cols["id"]["mean"]) == (0, 5, 2.5)

    category = cols["plan"]
    assert category["type"] == "category"
    assert category["arrow_type"].startswith("dictionary<values=string")
    assert category["null_count"] == 1
    assert category["distinct_count"] == 3
    assert category["top"] == [
        {"value": "basic", "count": 3},
        {"value": "pro", "count": 1},
        {"value": "team", "count": 1},
    ]

    value = cols["value"]  # NaN and inf are counted apart and left out of the statistics
    assert (value["null_count"], value["nan_count"], value["inf_count"]) == (1, 1, 1)
    assert (value["min"], value["max"], value["mean"]) == (1.0, 5.0, 3.0)
    assert value["histogram"]["edges"][0] == 1.0
    assert value["histogram"]["edges"][-1] == 5.0
    assert sum(value["histogram"]["counts"]) == 3

    flag = cols["flag"]
    assert (flag["type"], flag["true_count"], flag["false_count"]) == ("bool", 3, 2)
    assert flag["true_share"] == 0.6

    at = cols["at"]
    assert at["type"] == "datetime"
    assert at["min"] == "2024-01-01T12:00:00+00:00"
    assert at["max"] == "2024-01-06T12:00:00+00:00"

    assert cols["tags"]["type"] == "other"
    assert cols["tags"]["null_count"] == 1


def test_jsonl_profile(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"user": 1, "kind": "click", "at": "2024-05-01T08:00:00", "ms": 1.5}\n'
        '{"user": 2, "kind": "view", "at": "2024-05-02T09:30:00"}\n'
        '{"user": null, "kind": "click", "at": "2024-04-30T23:59:59", "ms": 2.5}\n'
    )
    profile = profile_file(path, "jsonl")
    assert_json_safe(profile)
    assert (profile["format"], profile["rows"]) == ("jsonl", 3)
    cols = columns(profile)
    assert (cols["user"]["type"], cols["user"]["null_count"], cols["user"]["mean"]) == (
        "int",
        1,
        1.5,
    )
    assert cols["kind"]["top"] == [{"value": "click", "count": 2}, {"value": "view", "count": 1}]
    assert (cols["at"]["min"], cols["at"]["max"]) == ("2024-04-30T23:59:59", "2024-05-02T09:30:00")
    assert (cols["ms"]["null_count"], cols["ms"]["mean"]) == (1, 2.0)


def test_empty_and_all_null_columns_have_no_statistics(tmp_path: Path) -> None:
    path = parquet(
        tmp_path / "empty.parquet", {"x": pa.array([None, None], pa.float64()), "s": ["a", "b"]}
    )
    x = columns(profile_file(path, "parquet"))["x"]
    assert (x["null_count"], x["min"], x["mean"], x["histogram"]) == (2, None, None, None)

    empty = parquet(tmp_path / "none.parquet", {"x": pa.array([], pa.int64())})
    profile = profile_file(empty, "parquet")
    assert_json_safe(profile)
    assert profile["rows"] == 0
    assert columns(profile)["x"]["null_share"] is None


def test_top_values_are_capped_at_twenty(tmp_path: Path) -> None:
    values = [f"v{i:02d}" for i in range(30) for _ in range(i + 1)]
    path = parquet(tmp_path / "many.parquet", {"v": values})
    column = columns(profile_file(path, "parquet"))["v"]
    assert column["distinct_count"] == 30
    assert [t["value"] for t in column["top"]] == [f"v{i:02d}" for i in range(29, 9, -1)]


def test_a_csv_that_does_not_parse_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InvalidInput, match="broken.csv") as caught:
        profile_file(path, "csv")
    assert "Expected 2 columns, got 3" in caught.value.message
    assert caught.value.details["path"] == str(path)


def test_a_file_that_is_not_parquet_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_bytes(b"definitely not parquet")
    with pytest.raises(InvalidInput, match="fake.parquet"):
        profile_file(path, "parquet")


def test_corrupt_parquet_data_is_invalid_input(tmp_path: Path) -> None:
    path = parquet(tmp_path / "corrupt.parquet", {"x": np.arange(100_000)})
    data = bytearray(path.read_bytes())
    data[100:50_000] = bytes(49_900)  # the column's pages; the footer stays intact
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidInput, match="corrupt.parquet"):
        profile_file(path, "parquet")


def test_an_unknown_format_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown tabular format 'xlsx'"):
        profile_file(tmp_path / "a.xlsx", "xlsx")


def test_a_missing_file_is_not_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        profile_file(tmp_path / "gone.csv", "csv")


@pytest.fixture
def versions(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(7)
    same = rng.normal(0, 1, 5000)
    old = parquet(
        tmp_path / "old.parquet",
        {
            "same": same,
            "shifted": rng.normal(0, 1, 5000),
            "code": rng.integers(0, 10, 5000),
            "dropped": np.zeros(5000),
            "gains_nulls": pa.array(np.ones(5000)),
        },
    )
    new = parquet(
        tmp_path / "new.parquet",
        {
            "same": np.concatenate([same, same]),
            "shifted": rng.normal(1.5, 1, 10000),
            "code": rng.integers(0, 10, 10000).astype(str),
            "added": np.ones(10000),
            "gains_nulls": pa.array(np.ones(10000), mask=np.arange(10000) % 2 == 0),
        },
    )
    return profile_file(old, "parquet"), profile_file(new, "parquet")


def test_diff_detects_schema_changes_and_row_count(
    versions: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    diff = diff_profiles(*versions)
    assert_json_safe(diff)
    assert diff["rows"] == {"old": 5000, "new": 10000, "change": 5000, "change_pct": 100.0}
    schema = diff["schema"]
    assert schema["added"] == [{"name": "added", "type": "float", "arrow_type": "double"}]
    assert schema["removed"] == [{"name": "dropped", "type": "float", "arrow_type": "double"}]
    assert schema["type_changed"] == [
        {
            "name": "code",
            "old": {"name": "code", "type": "int", "arrow_type": "int64"},
            "new": {"name": "code", "type": "string", "arrow_type": "string"},
        }
    ]
    assert [c["name"] for c in schema["nullability_changed"]] == ["gains_nulls"]
    assert [c["name"] for c in diff["columns"]] == ["code", "gains_nulls", "same", "shifted"]


def test_diff_measures_shifts_and_psi(versions: tuple[dict[str, Any], dict[str, Any]]) -> None:
    cols = {c["name"]: c for c in diff_profiles(*versions)["columns"]}

    same = cols["same"]  # twice the same values: the same distribution, the same histogram
    assert same["psi"] == pytest.approx(0.0, abs=1e-12)
    assert same["psi_method"] == "same_bins"
    assert same["psi_level"] == "stable"
    assert "mean" not in same["changes"]

    shifted = cols["shifted"]
    assert shifted["psi"] > 0.2
    assert shifted["psi_level"] == "major"
    assert shifted["psi_method"] == "rebinned"
    mean = shifted["changes"]["mean"]
    assert mean["change"] == pytest.approx(1.5, abs=0.1)
    assert mean["change"] == pytest.approx(mean["new"] - mean["old"])

    assert cols["gains_nulls"]["changes"]["null_share"] == {
        "old": 0.0,
        "new": 0.5,
        "change": 0.5,
        "change_pct": None,
    }
    assert "psi" not in cols["code"]  # int became string: no histogram to compare


def test_psi_of_two_samples_of_one_distribution_is_small(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    profiles = [
        profile_file(parquet(tmp_path / f"{i}.parquet", {"x": rng.normal(5, 2, 20000)}), "parquet")
        for i in range(2)
    ]
    column = diff_profiles(*profiles)["columns"][0]
    assert column["psi_method"] == "rebinned"  # the sample extremes differ
    assert column["psi"] < 0.05


def test_psi_rebins_onto_the_old_edges() -> None:
    old = {"edges": [0.0, 1.0, 2.0], "counts": [10, 10]}
    psi, method = population_stability_index(old, {"edges": [0.0, 2.0], "counts": [40]})
    assert psi == pytest.approx(0.0)
    assert method == "rebinned"
    # mass beyond the old range lands in the outer bin
    psi, _ = population_stability_index(old, {"edges": [5.0, 6.0], "counts": [10]})
    assert psi is not None and psi > 1
    assert population_stability_index(None, old) == (None, None)


def test_profile_markdown_is_a_data_sheet(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(CSV)
    text = profile_to_markdown(profile_file(path, "csv"), "users | v3")
    assert text.startswith("# users \\| v3\n")
    for name in ("id", "age", "plan", "score", "active", "joined"):
        assert f"| {name} |" in text
    assert "## Top values" in text
    assert "| basic | 3 | 75.00% |" in text
    assert "| age | int | int64 | yes | 1 | 25.00% |" in text


def test_diff_markdown_names_the_changes(
    versions: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    text = diff_to_markdown(diff_profiles(*versions))
    assert "5,000 → 10,000 +5,000 (+100.0%)" in text
    assert "- added `added`" in text
    assert "- removed `dropped`" in text
    assert "`code` changed type: int64 (int) → string (string)" in text
    assert "| shifted |" in text and "major" in text
    assert "## Statistics" in text


def test_diff_of_a_profile_with_itself_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(CSV)
    profile = profile_file(path, "csv")
    diff = diff_profiles(profile, profile)
    assert diff["schema"] == {
        "added": [],
        "removed": [],
        "type_changed": [],
        "nullability_changed": [],
    }
    assert all(not c["changes"] for c in diff["columns"])
    assert all(c["psi"] == 0 for c in diff["columns"] if "psi" in c)
    text = diff_to_markdown(diff)
    assert "No schema changes." in text and "No statistic changed." in text
