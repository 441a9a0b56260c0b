"""The Markdown and HTML renderings of a report document, on small documents built here."""

from __future__ import annotations

import html
import re
import statistics
import sys
from collections import Counter
from typing import Any

import pytest

from conformance.report import plots
from conformance.report.html import render_html
from conformance.report.markdown import CHECK_ORDER, render_markdown

EXAMPLE = {"dims": {"N": 1, "D": 2, "H": 2}, "regime": "moderate", "labels": "-", "seed": 0}
REPLAY = (
    "python -m conformance replay Affine gradient --example "
    '\'{"dims":{"N":1,"D":2,"H":2},"regime":"moderate","labels":"-","seed":0}\' --impl learner'
)
REPRODUCE = (
    "You can reproduce this test case by temporarily adding "
    "@reproduce_failure('6.170.17', b'AEEBQQIBQQA=') as a decorator on your test function"
)


def example(status: str = "pass", rel: float | None = 1e-16, **extra: Any) -> dict[str, Any]:
    return {
        "example": EXAMPLE,
        "shapes": {"x": [1, 2], "W": [2, 2], "b": [2], "out": [1, 2]},
        "worst_index": None,
        "actual": None,
        "expected": None,
        "max_rel_err": rel,
        "status": status,
        "detail": "",
        "replay": REPLAY,
    } | extra


def group(check: str, target: str, status: str = "pass", **fields: Any) -> dict[str, Any]:
    """A group as the model aggregates it; ``rel`` is the per-example errors (none: not measured)."""
    rel: list[float] = fields.pop("rel", [])
    slopes: list[float] = fields.pop("slopes", [])
    noise: list[float] = fields.pop("noise", [])
    examples = fields.pop("examples", len(rel) or len(slopes) or 3)
    tolerance = 1.5 if check == "taylor" else (fields.pop("tolerance", 1e-14) if rel else None)
    document_group = {
        "check": check,
        "target": target,
        "dtype": "float32" if check == "float32" else "float64",
        "examples": examples,
        "status": status,
        "failures": 0,
        "non_finite": 0,
        "max_abs_err": max(rel) if rel else None,
        "max_rel_err": max(rel) if rel else None,
        "median_rel_err": statistics.median(rel) if rel else None,
        "tolerance": tolerance,
        "tolerance_max": tolerance,
        "margin": tolerance / max(rel) if rel and tolerance and max(rel) else None,
        "noise_floor": {"max": max(noise), "median": statistics.median(noise)} if noise else None,
        "slope": _slopes(slopes, examples) if check == "taylor" else None,
        "worst_example": example(rel=max(rel) if rel else None),
        "minimal_failing_example": None,
        "samples": parallel_samples(rel, tolerance, noise, slopes),
    }
    return document_group | fields


def parallel_samples(
    rel: list[float], tolerance: float | None, noise: list[float], slopes: list[float]
) -> dict[str, list[float | None]]:
    """The model's sample lists: one entry per example, None where it measured nothing."""
    count = max(len(rel), len(noise), len(slopes))

    def padded(values: list[float]) -> list[float | None]:
        return [*values, *([None] * (count - len(values)))]

    return {
        "rel_err": padded(rel),
        "tolerance": [tolerance if i < len(rel) else None for i in range(count)],
        "noise_floor": padded(noise),
        "slope": padded(slopes),
    }


def _slopes(slopes: list[float], examples: int) -> dict[str, Any]:
    fitted = bool(slopes)
    return {
        "min": min(slopes) if fitted else None,
        "median": statistics.median(slopes) if fitted else None,
        "linear": examples - len(slopes),
    }


def row(layer: str, groups: list[dict[str, Any]], **outcomes: dict[str, Any]) -> dict[str, Any]:
    """A row whose outcome per check is its groups' worst status unless given."""
    order = ("fail", "error", "pass", "skipped", "not_implemented")
    checks = dict.fromkeys(g["check"] for g in groups)
    derived = {
        check: {
            "status": next(s for s in order if any(g["status"] == s for g in groups if g["check"] == check)),
            "examples": 3,
            "message": "",
            "reproduce": "",
            "seconds": 0.1,
        }
        for check in checks
    }
    merged = derived | outcomes
    status = next(s for s in order if any(o["status"] == s for o in merged.values()))
    return {"layer": layer, "status": status, "seconds": 0.5, "outcomes": merged, "checks": groups}


def not_implemented_row(layer: str) -> dict[str, Any]:
    message = f"{layer} is not implemented by learner"
    groups = [group(check, "-", "not_implemented", examples=1) for check in CHECK_ORDER]
    outcomes = {
        check: {
            "status": "not_implemented",
            "examples": 0,
            "message": message,
            "reproduce": "",
            "seconds": 0.0,
        }
        for check in CHECK_ORDER
    }
    return row(layer, groups, **outcomes)


def passing_row(layer: str) -> dict[str, Any]:
    return row(
        layer,
        [
            group("forward", "out", rel=[0.0, 1e-16, 3e-15]),
            group("gradient", "dx", rel=[2e-16, 0.0]),
            group("finite_difference", "dx", rel=[2e-11, 3e-10], noise=[2e-11, 3e-10], tolerance=1e-9),
            group("taylor", "dx", slopes=[1.99, 2.01], examples=3),
            group("float32", "out", rel=[4e-8], tolerance=4e-6),
            group("contract", "grads_in_place"),
            group("bad_input", "x:integer_dtype"),
        ],
    )


def failing_row(layer: str = "Affine") -> dict[str, Any]:
    minimal = example(
        "fail",
        0.41,
        worst_index=[0, 1],
        actual=0.227159541254,
        expected=-0.583430845487,
        detail="transposed?",
    )
    failing_dx = group(
        "gradient", "dx", "fail", rel=[1e-16, 0.41], failures=1, minimal_failing_example=minimal
    )
    bad_input = group(
        "bad_input",
        "x:integer_dtype",
        "fail",
        failures=3,
        minimal_failing_example=example("fail", None, detail="accepted silently"),
    )
    outcome = {
        "status": "fail",
        "examples": 2,
        "message": "[FAIL] ...",
        "reproduce": REPRODUCE,
        "seconds": 0.2,
    }
    return row(
        layer,
        [group("forward", "out", rel=[1e-16]), failing_dx, group("gradient", "dW", rel=[1e-16]), bad_input],
        gradient=outcome,
    )


def document(rows: list[dict[str, Any]], complete: bool = True, **extra: Any) -> dict[str, Any]:
    failing = any(r["status"] in ("fail", "error") for r in rows)
    status = "fail" if failing else ("pass" if complete else "incomplete")
    return {
        "schema_version": "1.0",
        "complete": complete,
        "environment": {
            "python": "3.11.7",
            "commit": "ce3a708c9549caf3ef114c7c5a03825833995e4a",
            "profile": "ci",
            "seed": "derandomized",
            "implementation": "learner",
            "finished": "2026-11-29T20:09:22+00:00",
        },
        "tolerances": {
            "error_measure": "|actual - expected| / max(1, max |expected|)",
            "reference_tolerance": "32 * K * eps(dtype)",
            "taylor_slope_threshold": 1.5,
            "eps": {"float64": 2.220446049250313e-16, "float32": 1.1920928955078125e-07},
        },
        "summary": {
            "status": status,
            "rows": len(rows),
            "row_status": dict(Counter(r["status"] for r in rows)),
            "checks": dict(Counter(o["status"] for r in rows for o in r["outcomes"].values())),
            "measurements": sum(g["examples"] for r in rows for g in r["checks"]),
            "not_run": [],
        },
        "rows": rows,
        "baseline": None,
    } | extra


def change(layer: str, check: str, old: str | None, new: str | None, **fields: Any) -> dict[str, Any]:
    entry = {
        "layer": layer,
        "check": check,
        "target": "dx",
        "dtype": "float64",
        "old_status": old,
        "new_status": new,
        "old_max_rel_err": 1e-16,
        "new_max_rel_err": 1e-16,
        "ratio": 1.0,
        "regression": False,
        "reason": "",
    }
    return entry | fields


def baseline(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "path": "reports/conformance.json",
        "environment": {"commit": "0123456789abcdef", "finished": "2026-11-28T10:00:00+00:00"},
        "regressions": sum(e["regression"] for e in entries),
        "status_changes": sum(e["old_status"] != e["new_status"] for e in entries),
        "entries": entries,
    }


def matrix_lines(markdown: str) -> list[str]:
    start = markdown.index("| Layer |")
    return markdown[start:].split("\n\n")[0].splitlines()


def test_markdown_matrix_has_a_row_per_layer_and_a_column_per_check() -> None:
    report = document([passing_row("Sigmoid"), failing_row("Affine"), not_implemented_row("Tanh")])

    lines = matrix_lines(render_markdown(report))

    assert lines[0] == "| Layer | " + " | ".join(CHECK_ORDER) + " |"
    body = {line.split(" | ")[0].strip("| "): line.strip("|").split(" | ") for line in lines[2:]}
    assert list(body) == ["Sigmoid", "Affine", "Tanh"]
    assert all(len(cells) == 1 + len(CHECK_ORDER) for cells in body.values())
    sigmoid = dict(zip(CHECK_ORDER, (cell.strip() for cell in body["Sigmoid"][1:]), strict=True))
    assert sigmoid["forward"] == "pass 3e-15"
    assert sigmoid["gradient"] == "pass 2e-16"
    assert sigmoid["taylor"] == "pass slope 1.99"
    assert sigmoid["contract"] == "pass"
    affine = dict(zip(CHECK_ORDER, (cell.strip() for cell in body["Affine"][1:]), strict=True))
    assert affine["gradient"] == "FAIL 4e-01"
    assert affine["bad_input"] == "FAIL"
    assert affine["taylor"] == "–"
    assert {cell.strip() for cell in body["Tanh"][1:]} == {"n/a"}


def test_markdown_failing_section_gives_the_minimal_example_and_how_to_replay_it() -> None:
    markdown = render_markdown(document([passing_row("Sigmoid"), failing_row("Affine")]))

    failures = markdown[markdown.index("## Failures") :]
    assert "### Sigmoid" not in failures
    assert "### Affine: FAIL" in failures
    assert "#### gradient: FAIL" in failures
    assert "**dx · float64**: FAIL on 1 of 2 examples." in failures
    assert "`N=1 D=2 H=2 · regime moderate · labels - · seed 0`" in failures
    assert "`x (1, 2) · W (2, 2) · b (2,) · out (1, 2)`" in failures
    assert "`[0, 1]: implementation 0.227159541254, reference -0.583430845487`" in failures
    assert "max rel 4.10e-01 on this example" in failures
    assert "tolerance 1.00e-14" in failures
    assert f"```sh\n{REPLAY}\n```" in failures
    assert "```python\n@reproduce_failure('6.170.17', b'AEEBQQIBQQA=')\n```" in failures
    assert "**x:integer_dtype · float64**: FAIL on 3 of 3 examples." in failures
    assert "`accepted silently`" in failures


def test_a_check_that_errs_without_measurements_shows_its_message() -> None:
    crashed = {
        "status": "error",
        "examples": 0,
        "message": "collection failed: boom",
        "reproduce": "",
        "seconds": 0,
    }
    report = document([row("Affine", [group("forward", "out", rel=[1e-16])], contract=crashed)])

    markdown = render_markdown(report)

    assert "#### contract: ERROR" in markdown
    assert "```text\ncollection failed: boom\n```" in markdown
    assert "collection failed: boom" in render_html(report)


def test_not_implemented_layers_are_shown_as_such_not_as_failures() -> None:
    report = document([not_implemented_row("Tanh")])

    markdown = render_markdown(report)
    page = render_html(report)

    assert "| Tanh | n/a | n/a | n/a | n/a | n/a | n/a | n/a |" in markdown
    assert "## Failures" not in markdown
    assert page.count('<td class="s-not_implemented" title="Tanh is not implemented by learner">') == 7
    assert "<p>Tanh is not implemented by learner</p>" in page


def test_an_incomplete_report_says_so_in_both_outputs() -> None:
    report = document([passing_row("Sigmoid")], complete=False)
    report["summary"]["not_run"] = [["Sigmoid", "float32"]]

    markdown = render_markdown(report)
    page = render_html(report)

    assert markdown.startswith("# Conformance report: INCOMPLETE")
    assert "> **INCOMPLETE**: The run was interrupted; 1 check(s) did not run: Sigmoid · float32." in markdown
    assert '<div class="banner" role="alert"><b>INCOMPLETE</b>' in page
    assert "Sigmoid · float32" in page


def test_the_html_page_loads_nothing_from_the_network() -> None:
    failing = failing_row("Affine")
    failing["checks"][1]["minimal_failing_example"]["detail"] = "see https://example.org/help"
    page = render_html(document([passing_row("Sigmoid"), failing]))

    assert page.startswith("<!DOCTYPE html>")
    references = re.findall(
        r"""(?:src|href|action|srcset|data)\s*=\s*["']?([^"'\s>]*)""", page, re.IGNORECASE
    )
    assert references
    assert all(reference.startswith("#") for reference in references)
    assert "<link" not in page
    assert "@import" not in page
    assert "url(http" not in page
    without_document_text = page.replace("see https://example.org/help", "")
    assert "http://" not in without_document_text
    assert "https://" not in without_document_text


def test_the_html_page_escapes_document_text() -> None:
    layer = "<script>alert(1)</script>"
    report = document([passing_row(layer), failing_row(layer)])
    report["environment"]["implementation"] = '"><img onerror=x>'

    page = render_html(report)
    markdown = render_markdown(report)

    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img onerror=x&gt;" in page
    assert "\\<script>alert(1)\\</script>" in markdown


def test_the_html_page_has_one_svg_per_plot() -> None:
    pytest.importorskip("matplotlib")
    entries = [change("Sigmoid", "gradient", "pass", "pass", new_max_rel_err=1e-12, ratio=4504.0)]
    report = document(
        [passing_row("Sigmoid"), failing_row("Affine"), not_implemented_row("Tanh")],
        baseline=baseline(entries),
    )

    page = render_html(report)

    # Sigmoid's and Affine's error distributions, Taylor slopes, noise floor, baseline; Tanh has no data.
    assert page.count("<svg") == 5
    assert page.count("</svg>") == 5
    assert "<?xml" not in page
    assert "Plots need matplotlib" not in page
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_without_matplotlib_the_page_says_how_to_get_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail

    page = render_html(
        document([passing_row("Sigmoid")], baseline=baseline([change("A", "forward", "pass", "pass")]))
    )

    assert not plots.available()
    assert plots.taylor_slope_plot(document([passing_row("Sigmoid")])) is None
    assert "<svg" not in page
    assert "pip install 'scratchnn[reports]'" in page


def test_failing_layers_are_open_and_coloured_passing_ones_collapsed() -> None:
    page = render_html(document([passing_row("Sigmoid"), failing_row("Affine")]))

    assert '<details class="layer" id="layer-0">' in page
    assert '<details class="layer" id="layer-1" open>' in page
    affine_gradient = re.search(r'<td class="s-fail" title="([^"]*)"><a href="#layer-1">FAIL', page)
    assert affine_gradient is not None
    assert "dx · float64: FAIL on 1 of 2 examples; max rel 4.10e-01" in affine_gradient.group(1)
    assert '<span class="measure">4e-01</span>' in page
    assert f"<pre><code>{html.escape(REPLAY)}</code></pre>" in page


def test_baseline_regressions_appear_in_both_outputs_first() -> None:
    entries = [
        change("Tanh", "forward", None, "pass"),
        change(
            "Softmax", "finite_difference", "pass", "pass", new_max_rel_err=4e-9, ratio=40.0, regression=True
        ),
        change("Mul", "gradient", "pass", "fail", new_max_rel_err=0.3, ratio=1e15, regression=True),
        change("Add", "forward", "pass", "pass"),
    ]
    entries[1]["reason"], entries[2]["reason"] = "error grew 40x", "pass -> fail"
    report = document([passing_row("Sigmoid")], baseline=baseline(entries))

    markdown = render_markdown(report)
    page = render_html(report)

    changes = markdown[markdown.index("## Changes since baseline") :]
    assert "2 regression(s), 2 status change(s)" in changes
    regressions = changes[changes.index("### Regressions") : changes.index("### Other status changes")]
    assert regressions.index("| Mul | gradient |") < regressions.index("| Softmax | finite_difference |")
    assert "| pass → FAIL | 1.00e-16 → 3.00e-01 | pass -> fail |" in regressions
    assert "error grew 40x" in regressions
    assert "| Tanh | forward | `dx` | float64 | absent → pass |" in changes
    assert "| Add |" not in changes
    assert page.count('<tr class="regression"><td>Mul</td>') == 2  # regressions table and the full list
    assert page.count('<tr class="regression"><td>Softmax</td>') == 2
    assert 'href="#baseline"' in page
