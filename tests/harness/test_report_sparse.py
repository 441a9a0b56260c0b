"""conformance.json leaves out default-valued fields and unchanged baseline entries; reading it
back (``write.load_report``) gives the document the renderers saw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

import scratchnn
from conformance.implementation import Implementation
from conformance.report import model, sparse, write
from tests.harness.broken import VARIANTS
from tests.harness.reporting import learner, record_run

SCHEMA = json.loads((Path(model.__file__).parent / "schema.json").read_text(encoding="utf-8"))
TESTS = [("Affine", "gradient"), ("Affine", "taylor"), ("Dropout", "sampling")]


def variant(name: str) -> type:
    return next(v for v in VARIANTS if v.id == name).as_learner_class()


def written(document: dict[str, Any], out: Path) -> dict[str, Any]:
    (out / "conformance.json").write_text(json.dumps(sparse.compact(document)), encoding="utf-8")
    return json.loads((out / "conformance.json").read_text(encoding="utf-8"))


def test_reading_a_report_back_gives_the_whole_document(tmp_path: Path) -> None:
    broken = learner(Affine=variant("affine-bias-mean"), Dropout=scratchnn.Dropout)
    document = model.build(record_run(tmp_path / "records", broken, TESTS))
    on_disk = written(document, tmp_path)
    jsonschema.validate(on_disk, SCHEMA)
    assert write.load_report(tmp_path / "conformance.json") == json.loads(json.dumps(document))


def test_defaults_are_left_out_and_nothing_else(tmp_path: Path) -> None:
    broken = learner(Affine=variant("affine-bias-mean"))
    document = model.build(record_run(tmp_path / "records", broken, [("Affine", "gradient")]))
    full = document["rows"][0]["checks"]["gradient"]
    short = written(document, tmp_path)["rows"][0]["checks"]["gradient"]
    for before, after in zip(full["targets"] + full["cases"], short["targets"] + short["cases"], strict=True):
        defaults = sparse.TARGET_DEFAULTS if "dtype" in before else sparse.CASE_DEFAULTS
        left_out = set(before) - set(after)
        assert left_out <= set(defaults)
        assert all(before[key] == defaults[key] for key in left_out)
    failing = next(t for t in short["targets"] if t["target"] == "db")
    assert failing["failures"] > 0
    assert failing["minimal_failing_example"] is not None
    exact = next(t for t in full["targets"] if t["max_rel_err"] == 0.0)  # dx: exactly right
    assert next(t for t in short["targets"] if t["target"] == exact["target"])["max_rel_err"] == 0.0


def test_unchanged_baseline_entries_are_counted_not_listed(tmp_path: Path) -> None:
    records = record_run(tmp_path / "records", Implementation((scratchnn,)), TESTS)
    write.build_and_write(records, tmp_path, None)
    old = write.load_report(tmp_path / "conformance.json")
    broken = learner(Affine=variant("affine-bias-mean"), Dropout=scratchnn.Dropout)
    new = write.build_and_write(record_run(tmp_path / "new", broken, TESTS), tmp_path, (old, "old.json"))
    on_disk = json.loads((tmp_path / "conformance.json").read_text(encoding="utf-8"))
    jsonschema.validate(on_disk, SCHEMA)
    listed = on_disk["baseline"]["entries"]
    assert {(e["layer"], e["target"]) for e in listed if e["regression"]} >= {("Affine", "db")}
    assert all(e["regression"] or e["reason"] for e in listed)
    assert on_disk["baseline"]["unchanged"] == len(new["baseline"]["entries"]) - len(listed) > 0
