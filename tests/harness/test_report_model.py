"""The report document built from the records of real runs: cases, counts, completeness,
baselines, schema, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import scratchnn
from conformance.implementation import Implementation
from conformance.measurement import Measurement
from conformance.report import baseline, model, write
from tests.harness.broken import VARIANTS
from tests.harness.fixtures import book_layers
from tests.harness.reporting import learner, record_run

SCHEMA = json.loads((Path(model.__file__).parent / "schema.json").read_text(encoding="utf-8"))
SCRATCHNN = Implementation((scratchnn,))


def variant(identifier: str) -> type:
    return next(v for v in VARIANTS if v.id == identifier).as_learner_class()


def row(document: dict[str, Any], layer: str) -> dict[str, Any]:
    return next(r for r in document["rows"] if r["layer"] == layer)


@pytest.fixture(scope="module")
def book_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The book's Softmax and Sigmoid: a gradient right for 2-D input only, an overflow."""
    directory = tmp_path_factory.mktemp("book")
    implementation = learner(Softmax=book_layers.Softmax, Sigmoid=book_layers.Sigmoid)
    tests = [
        ("Softmax", "gradient"),
        ("Softmax", "forward"),
        ("Sigmoid", "gradient"),
        ("Sigmoid", "stability"),
    ]
    record_run(directory, implementation, tests)
    return model.build(directory)


def test_a_check_has_its_cases_and_the_worst_case_decides(book_run: dict[str, Any]) -> None:
    gradient = row(book_run, "Softmax")["checks"]["gradient"]
    by_case = {case["case"]: case for case in gradient["cases"]}
    assert set(by_case) == {f"rank {r} · {regime}" for r in (1, 2, 3, 4) for regime in ("moderate", "zeros")}
    assert by_case["rank 2 · moderate"]["status"] == "pass"
    assert by_case["rank 1 · moderate"]["status"] == "error"
    assert "AxisError" in by_case["rank 1 · moderate"]["cause"]
    assert "book_layers.py" in by_case["rank 1 · moderate"]["cause"]
    assert by_case["rank 3 · moderate"]["status"] in ("fail", "error")
    assert gradient["status"] == "fail"  # the worst of its cases: rank 3 and 4 give wrong numbers
    for case in gradient["cases"]:
        expected = {"case", "values", "status", "examples", "max_abs_err", "max_rel_err", "tolerance"}
        assert set(case) >= {*expected, "worst_example"}
        assert case["values"]["rank"] in (1, 2, 3, 4)
    passing = by_case["rank 2 · moderate"]
    assert passing["examples"] > 0
    assert passing["max_rel_err"] is not None
    assert passing["max_rel_err"] <= passing["tolerance"]
    assert by_case["rank 1 · moderate"]["minimal_failing_example"]["replay"].startswith(
        "python -m conformance"
    )


def test_an_overflow_is_a_stability_finding_and_the_gradient_still_passes(book_run: dict[str, Any]) -> None:
    sigmoid = row(book_run, "Sigmoid")["checks"]
    assert sigmoid["gradient"]["status"] == "pass"
    assert sigmoid["stability"]["status"] == "fail"
    causes = {case["cause"] for case in sigmoid["stability"]["cases"] if case["status"] == "fail"}
    assert any("overflow encountered in exp at book_layers.py:" in cause for cause in causes), causes
    assert "overflow in Sigmoid" in book_run["summary"]["verdicts"]["robustness"]


def test_counts_are_examples_and_shrinking_is_counted_apart(book_run: dict[str, Any]) -> None:
    gradient = row(book_run, "Softmax")["checks"]["gradient"]
    assert gradient["examples"] == sum(case["examples"] for case in gradient["cases"])
    assert gradient["shrinks"] == sum(case["shrinks"] for case in gradient["cases"])
    for target in gradient["targets"]:
        assert target["examples"] <= gradient["examples"]
        assert target["failures"] <= target["examples"]
    assert book_run["summary"]["examples"] == sum(
        c["examples"] for r in book_run["rows"] for c in r["checks"].values()
    )


def test_the_document_follows_the_schema(book_run: dict[str, Any]) -> None:
    jsonschema.validate(book_run, SCHEMA)


def test_workers_are_merged(tmp_path: Path) -> None:
    directory = tmp_path / "records"
    record_run(directory, SCRATCHNN, [("Affine", "forward")], worker="gw0", planned=[("Affine", "forward"),
               ("ReLU", "forward")])  # fmt: skip
    record_run(directory, SCRATCHNN, [("ReLU", "forward")], worker="gw1", planned=[])
    document = model.build(directory)
    assert [r["layer"] for r in document["rows"]] == ["Affine", "ReLU"]
    assert document["complete"]
    assert document["summary"]["status"] == "pass"
    assert {r["group"] for r in document["rows"]} == {"scratchnn.layers"}


def test_an_interrupted_run_is_reported_incomplete_with_what_it_measured(tmp_path: Path) -> None:
    directory = record_run(
        tmp_path / "records",
        SCRATCHNN,
        [("Affine", "forward")],
        complete=False,
        planned=[("Affine", "forward"), ("Affine", "gradient")],
    )
    document = model.build(directory)
    assert not document["complete"]
    assert document["summary"]["status"] == "incomplete"
    assert document["summary"]["not_run"] == [["Affine", "gradient"]]
    affine = row(document, "Affine")["checks"]
    assert affine["forward"]["status"] == "pass"
    assert affine["gradient"]["message"] == "not run: the run was interrupted"


def test_baseline_flags_regressions_and_status_changes(tmp_path: Path) -> None:
    good = model.build(record_run(tmp_path / "good", SCRATCHNN, [("Affine", "gradient")]))
    broken = learner(Affine=variant("affine-bias-mean"))
    bad = model.build(record_run(tmp_path / "bad", broken, [("Affine", "gradient")]))
    comparison = baseline.compare(bad, good, "good.json")
    regressions = [e for e in comparison["entries"] if e["regression"]]
    assert [(e["target"], e["old_status"], e["new_status"]) for e in regressions] == [
        ("(check)", "pass", "fail"),
        ("db", "pass", "fail"),
    ]
    assert comparison["same_examples"]
    same = baseline.compare(good, good, "good.json")
    assert same["regressions"] == 0
    assert same["status_changes"] == 0


def test_error_growth_between_runs_of_different_examples_is_reported_not_flagged(tmp_path: Path) -> None:
    good = model.build(record_run(tmp_path / "good", SCRATCHNN, [("Affine", "gradient")]))
    grown = json.loads(json.dumps(good))
    grown["environment"]["seed"] = "random"
    for target in row(grown, "Affine")["checks"]["gradient"]["targets"]:
        target["max_rel_err"] = (target["max_rel_err"] or 1e-16) * 1e4
    entries = baseline.compare(grown, good, "good.json")["entries"]
    assert not any(e["regression"] for e in entries)
    grew = [e for e in entries if e["target"] != baseline.WHOLE_CHECK]
    assert grew
    assert all("not flagged" in e["reason"] for e in grew)


def test_nan_appearing_is_a_regression_whatever_the_examples(tmp_path: Path) -> None:
    good = model.build(record_run(tmp_path / "good", SCRATCHNN, [("Tanh", "gradient")]))
    nan = model.build(
        record_run(tmp_path / "nan", learner(Tanh=variant("tanh-nan-at-zero")), [("Tanh", "gradient")])
    )
    comparison = baseline.compare(nan, good, "good.json")
    assert any(e["regression"] and e["target"] == "dx" for e in comparison["entries"])


def test_samples_are_capped_and_keep_every_failure(tmp_path: Path) -> None:
    broken = learner(Affine=variant("affine-bias-mean"))
    document = model.build(record_run(tmp_path / "records", broken, [("Affine", "gradient")]))
    db = next(t for t in row(document, "Affine")["checks"]["gradient"]["targets"] if t["target"] == "db")
    samples = db["samples"]["rel_err"]
    assert len(samples) <= model.SAMPLE_LIMIT
    failing = sum(value > db["tolerance"] for value in samples if value is not None)
    assert failing == min(db["failures"], model.SAMPLE_LIMIT)
    assert db["quantiles"]["p50"] <= db["quantiles"]["p99"] <= db["max_rel_err"]


def test_reports_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = record_run(tmp_path / "records", SCRATCHNN, [("ReLU", "forward")])
    out = tmp_path / "out"
    write.build_and_write(directory, out, None)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def crash(report: dict[str, Any]) -> str:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(write, "render_html", crash)
    with pytest.raises(RuntimeError):
        write.build_and_write(directory, out, None)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert all((p.stat().st_mode & 0o777) == 0o644 for p in out.iterdir())


def test_a_baseline_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schema_version": "1.0", "rows": []}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"schema_version '1\.0'"):
        write.load_report(old)


def test_an_error_of_a_few_subnormals_has_no_margin_rather_than_an_infinite_one() -> None:
    """tolerance / 1e-320 overflows to inf, which the JSON document cannot hold (a dev run of
    scratchnn drew such an example): the margin is then none, as for an exact result."""
    subnormal = Measurement(
        "Affine", "gradient", "dW", "N>1 · zeros", "pass", tolerance=1e-10, max_rel_err=1e-320
    )
    assert model._margin("gradient", subnormal) is None
    ordinary = Measurement(
        "Affine", "gradient", "dW", "N>1 · zeros", "pass", tolerance=1e-10, max_rel_err=1e-12
    )
    assert model._margin("gradient", ordinary) == pytest.approx(100.0)
