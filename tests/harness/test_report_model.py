"""The report document built from records: aggregation, completeness, baselines, schema, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance import records
from conformance.engine import Outcome
from conformance.environment import describe_environment
from conformance.measurement import Measurement
from conformance.report import baseline, model, write

SCHEMA = json.loads((Path(model.__file__).parent / "schema.json").read_text(encoding="utf-8"))
EXAMPLE = {"dims": {"N": 2, "D": 3, "H": 3}, "regime": "moderate", "labels": "-", "seed": 4}


def measurement(
    layer: str, check: str, target: str, status: str, rel: float | None, **extra: Any
) -> Measurement:
    return Measurement(
        layer=layer,
        check=check,
        target=target,
        dtype="float64",
        status=status,
        example=EXAMPLE,
        shapes={"x": [2, 3]},
        max_abs_err=rel,
        max_rel_err=rel,
        median_rel_err=rel,
        tolerance=1e-12 if rel is not None else None,
        impl="learner",
        **extra,
    )


def write_run(
    directory: Path,
    lines: dict[str, list[Measurement | Outcome]],
    complete: bool = True,
    planned: list[tuple[str, str]] | None = None,
    profile: str = "ci",
) -> None:
    records.write_manifest(
        directory,
        {
            "profile": profile,
            "implementation": "learner",
            "complete": complete,
            "environment": describe_environment(),
        },
    )
    for worker, items in lines.items():
        path = directory / f"{worker}.jsonl"
        with path.open("a", encoding="utf-8") as file:
            if planned is not None:
                file.write(json.dumps({"type": "planned", "tests": [list(t) for t in planned]}) + "\n")
            for item in items:
                file.write(json.dumps(item.to_json()) + "\n")


def passing_and_failing(tmp_path: Path) -> Path:
    directory = tmp_path / "records"
    write_run(
        directory,
        {
            "gw0": [
                measurement("Affine", "gradient", "dW", "pass", 1e-15),
                measurement("Affine", "gradient", "dx", "pass", 2e-15),
                measurement("Affine", "gradient", "dx", "fail", 0.5),
                measurement(
                    "Affine", "gradient", "dx", "fail", 0.25
                ),  # Hypothesis' shrunk example comes last
                Outcome("Affine", "gradient", "fail", 3, "dx wrong", "@reproduce_failure('x', b'y')"),
            ],
            "gw1": [
                measurement("Sigmoid", "taylor", "dx", "pass", None, slope=2.01),
                measurement("Sigmoid", "taylor", "dx", "pass", None, slope=1.98),
                Outcome("Sigmoid", "taylor", "pass", 2),
                Measurement("Softmax", "forward", "-", "-", "not_implemented", impl="learner"),
                Outcome("Softmax", "forward", "not_implemented", 0, "not implemented"),
            ],
        },
        planned=[("Affine", "gradient"), ("Sigmoid", "taylor"), ("Softmax", "forward")],
    )
    return directory


def row(document: dict[str, Any], layer: str) -> dict[str, Any]:
    return next(r for r in document["rows"] if r["layer"] == layer)


def group(document: dict[str, Any], layer: str, check: str, target: str) -> dict[str, Any]:
    return next(g for g in row(document, layer)["checks"] if g["check"] == check and g["target"] == target)


def test_workers_are_merged_and_groups_aggregated(tmp_path: Path) -> None:
    document = model.build(passing_and_failing(tmp_path))
    assert [r["layer"] for r in document["rows"]] == ["Affine", "Sigmoid", "Softmax"]
    assert [r["status"] for r in document["rows"]] == ["fail", "pass", "not_implemented"]
    dx = group(document, "Affine", "gradient", "dx")
    assert (dx["status"], dx["examples"], dx["failures"]) == ("fail", 3, 2)
    assert dx["max_rel_err"] == 0.5
    assert dx["minimal_failing_example"]["max_rel_err"] == 0.25
    assert dx["worst_example"]["max_rel_err"] == 0.5
    assert dx["samples"]["rel_err"] == [2e-15, 0.5, 0.25]
    assert dx["samples"]["tolerance"] == [1e-12, 1e-12, 1e-12]
    assert dx["margin"] == pytest.approx(1e-12 / 0.5)
    assert group(document, "Affine", "gradient", "dW")["status"] == "pass"
    taylor = group(document, "Sigmoid", "taylor", "dx")
    assert (taylor["slope"]["min"], taylor["slope"]["linear"]) == (1.98, 0)
    assert taylor["samples"]["slope"] == [2.01, 1.98]
    assert taylor["samples"]["rel_err"] == [None, None]
    assert row(document, "Affine")["outcomes"]["gradient"]["reproduce"] == "@reproduce_failure('x', b'y')"
    assert document["summary"]["status"] == "fail"
    assert document["summary"]["checks"] == {"fail": 1, "pass": 1, "not_implemented": 1}
    assert document["complete"]


def test_the_document_follows_the_schema(tmp_path: Path) -> None:
    document = model.build(passing_and_failing(tmp_path))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    broken = dict(document, schema_version="0.1")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(broken)


def test_an_interrupted_run_is_reported_incomplete_with_what_it_measured(tmp_path: Path) -> None:
    directory = tmp_path / "records"
    write_run(
        directory,
        {
            "main": [
                measurement("Affine", "forward", "out", "pass", 1e-16),
                Outcome("Affine", "forward", "pass", 1),
            ]
        },
        complete=False,
        planned=[("Affine", "forward"), ("Affine", "gradient")],
    )
    with (directory / "main.jsonl").open("a", encoding="utf-8") as file:
        file.write('{"type": "measurement", "layer": "Aff')  # the line being written when the run was killed
    document = model.build(directory)
    assert not document["complete"]
    assert document["summary"]["status"] == "incomplete"
    assert document["summary"]["not_run"] == [["Affine", "gradient"]]
    assert row(document, "Affine")["outcomes"]["gradient"]["status"] == "skipped"
    assert group(document, "Affine", "forward", "out")["examples"] == 1


def test_baseline_flags_regressions_and_status_changes(tmp_path: Path) -> None:
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    write_run(
        old_dir,
        {
            "main": [
                measurement("Affine", "gradient", "dx", "pass", 1e-15),
                measurement("Affine", "forward", "out", "pass", 1e-15),
                measurement("Tanh", "forward", "out", "pass", 0.0),
                measurement("ReLU", "forward", "out", "fail", 0.3),
            ]
        },
    )
    write_run(
        new_dir,
        {
            "main": [
                measurement("Affine", "gradient", "dx", "fail", 0.4),  # pass -> fail
                measurement("Affine", "forward", "out", "pass", 5e-14),  # grew 50x, still within tolerance
                measurement(
                    "Tanh", "forward", "out", "pass", 1e-16
                ),  # from exactly 0 to rounding: not a regression
                measurement("ReLU", "forward", "out", "pass", 0.0),  # fixed
            ]
        },
    )
    comparison = baseline.compare(model.build(new_dir), model.build(old_dir), "old.json")
    entries = {(e["layer"], e["check"]): e for e in comparison["entries"]}
    assert entries[("Affine", "gradient")]["regression"]
    assert entries[("Affine", "gradient")]["reason"] == "pass -> fail"
    assert entries[("Affine", "forward")]["regression"]
    assert entries[("Affine", "forward")]["reason"] == "error grew 50x"
    assert not entries[("Tanh", "forward")]["regression"]
    assert not entries[("ReLU", "forward")]["regression"]
    assert entries[("ReLU", "forward")]["reason"] == "fail -> pass"
    assert (comparison["regressions"], comparison["status_changes"]) == (2, 2)


def test_reports_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = passing_and_failing(tmp_path)
    out = tmp_path / "reports"
    write.build_and_write(directory, out, None)
    before = {name: (out / name).read_bytes() for name in write.REPORT_FILES}
    assert all((out / name).stat().st_mode & 0o777 == 0o644 for name in write.REPORT_FILES)
    assert json.loads(before["conformance.json"])["summary"]["status"] == "fail"

    def crash(report: dict[str, Any]) -> str:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(write, "render_html", crash)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        write.build_and_write(directory, out, None)
    assert {name: (out / name).read_bytes() for name in write.REPORT_FILES} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(write.REPORT_FILES)


def test_a_baseline_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema_version": "7.0"}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"schema_version '7\.0'"):
        write.load_report(path)


def test_error_growth_between_runs_of_different_examples_is_reported_not_flagged(tmp_path: Path) -> None:
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    write_run(
        old_dir, {"main": [measurement("Mul", "finite_difference", "dx", "pass", 1e-11)]}, profile="dev"
    )
    write_run(
        new_dir, {"main": [measurement("Mul", "finite_difference", "dx", "pass", 3e-10)]}, profile="dev"
    )
    comparison = baseline.compare(model.build(new_dir), model.build(old_dir), "old.json")
    (entry,) = comparison["entries"]
    assert not comparison["same_examples"]
    assert not entry["regression"]
    assert entry["reason"] == "error grew 30x (not flagged: the runs drew different examples)"


def test_nan_appearing_is_a_regression_whatever_the_examples(tmp_path: Path) -> None:
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    write_run(old_dir, {"main": [measurement("Tanh", "gradient", "dx", "fail", 0.5)]}, profile="dev")
    write_run(
        new_dir,
        {"main": [measurement("Tanh", "gradient", "dx", "fail", None, non_finite=True)]},
        profile="dev",
    )
    comparison = baseline.compare(model.build(new_dir), model.build(old_dir), "old.json")
    (entry,) = comparison["entries"]
    assert entry["regression"]
    assert entry["reason"] == "NaN or inf appeared"
    document = model.build(new_dir)
    assert group(document, "Tanh", "gradient", "dx")["non_finite"] == 1
