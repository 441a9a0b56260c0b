"""Builds the three report files from a run's records and writes them atomically.

All three documents are rendered in memory first; each file is then written to
a temporary file in the same directory and moved over the old one with
``os.replace``. A run that crashes or is killed while reporting leaves the
previous reports intact, never a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from conformance.report import baseline as baseline_comparison
from conformance.report import model, sparse
from conformance.report.html import render_html
from conformance.report.markdown import render_markdown

REPORT_FILES = ("conformance.json", "conformance.md", "index.html")


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; reports are for everyone to read
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_report(path: Path) -> dict[str, Any]:
    """A report written earlier, for use as a baseline; refuses other schema versions."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    version = str(document.get("schema_version", ""))
    if version.split(".")[0] != model.SCHEMA_VERSION.split(".")[0]:
        raise ValueError(f"{path}: schema_version {version!r}; this harness reads {model.SCHEMA_VERSION}")
    return sparse.expand(document)


def build_and_write(records: Path, out: Path, baseline: tuple[dict[str, Any], str] | None) -> dict[str, Any]:
    """The report of ``records``, compared with ``baseline`` (document, path) if given, written to ``out``."""
    report = model.build(records)
    if baseline is not None:
        report["baseline"] = baseline_comparison.compare(report, *baseline)
    documents = {
        "conformance.json": json.dumps(sparse.compact(report), allow_nan=False, separators=(",", ":")) + "\n",
        "conformance.md": render_markdown(report),
        "index.html": render_html(report),
    }
    for name in REPORT_FILES:
        atomic_write(out / name, documents[name])
    return report
