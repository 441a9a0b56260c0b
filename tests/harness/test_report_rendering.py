"""conformance.md and index.html rendered from the document of a real run: what a reader sees."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import scratchnn
from conformance.engine import CaseOutcome, Outcome
from conformance.implementation import Implementation
from conformance.measurement import Measurement
from conformance.records import JsonLinesSink
from conformance.report import baseline, model
from conformance.report.html import _margin, render_html
from conformance.report.markdown import render_markdown
from conformance.report.summary import grid
from tests.harness.broken import VARIANTS
from tests.harness.fixtures import book_layers
from tests.harness.reporting import learner, record_run

TESTS = [
    ("Affine", "forward"),
    ("Affine", "gradient"),
    ("Softmax", "gradient"),
    ("Softmax", "taylor"),
    ("Sigmoid", "stability"),
    ("Sigmoid", "finite_difference"),
    ("TwoLayerNet", "gradient"),
]


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A learner with the book's Softmax and Sigmoid, scratchnn's Affine and no TwoLayerNet."""
    implementation = learner(
        Affine=scratchnn.Affine, Softmax=book_layers.Softmax, Sigmoid=book_layers.Sigmoid
    )
    return model.build(record_run(tmp_path_factory.mktemp("run"), implementation, TESTS))


@pytest.fixture(scope="module")
def markdown(document: dict[str, Any]) -> str:
    return render_markdown(document)


@pytest.fixture(scope="module")
def page(document: dict[str, Any]) -> str:
    return render_html(document)


def matrix_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]


def test_markdown_matrix_has_a_table_per_module_a_row_per_layer_and_a_column_per_check(markdown: str) -> None:
    assert "### scratchnn.layers" in markdown
    assert "### scratchnn.models" not in markdown  # the learner has no model: one line says so
    assert "Not in learner (1 of 4 layers): TwoLayerNet" in markdown
    lines = matrix_lines(markdown)
    header = lines[0]
    for check in ("forward", "gradient", "finite_difference", "taylor", "stability"):
        assert f" {check} " in header
    layers = [line.split("|")[1].strip() for line in lines if not line.startswith("| Layer")]
    assert layers == ["Affine", "Softmax", "Sigmoid"]  # the run's order, by module
    softmax = next(line for line in lines if line.startswith("| Softmax"))
    assert "FAIL" in softmax
    assert "of 8 cases)" in softmax


def test_failing_checks_list_their_cases_one_line_each(markdown: str) -> None:
    section = markdown.split("\n### Softmax: FAIL", 1)[1].split("\n### ", 1)[0]
    gradient = section.split("\n#### gradient", 1)[1].split("\n#### ", 1)[0]
    cases = [line for line in gradient.splitlines() if line.startswith("- rank ")]
    assert len(cases) == 8
    assert "- rank 2 · moderate: pass" in cases
    assert any(line.startswith("- rank 1 · moderate: ERROR AxisError in backward") for line in cases), cases
    assert "python -m conformance replay Softmax gradient --example" in gradient
    assert "@reproduce_failure(" in gradient


def test_an_overflow_names_the_line_and_the_verdict_line_says_so(markdown: str) -> None:
    assert re.search(r"rank \d · extreme: FAIL overflow encountered in exp at book_layers\.py:\d+", markdown)
    assert "robustness: " in markdown
    assert "overflow in Sigmoid" in markdown
    assert "correctness: 1 layer disagrees: Softmax (gradient, taylor)" in markdown


def test_passing_layers_have_no_failure_section(markdown: str) -> None:
    assert "### Affine" not in markdown
    assert "### TwoLayerNet" not in markdown


def test_the_terminal_grid_matches_the_matrix(document: dict[str, Any]) -> None:
    table = grid(document)
    assert table[0][0] == "layer"
    softmax = next(row for row in table if row[0] == "Softmax")
    gradient = softmax[table[0].index("gradient")]
    assert gradient.startswith("FAIL (")
    assert gradient.endswith(" of 8 cases)")


def test_an_incomplete_report_says_so_in_both_outputs(tmp_path: Path) -> None:
    implementation = Implementation((scratchnn,))
    directory = record_run(
        tmp_path,
        implementation,
        [("ReLU", "forward")],
        complete=False,
        planned=[("ReLU", "forward"), ("ReLU", "taylor")],
    )
    document = model.build(directory)
    assert "> **INCOMPLETE**" in render_markdown(document)
    assert "ReLU · taylor" in render_markdown(document)
    assert 'class="banner"' in render_html(document)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_html_page_loads_nothing_from_the_network(page: str) -> None:
    collector = _Collector()
    collector.feed(page)
    tags = {tag for tag, _ in collector.tags}
    assert "script" not in tags
    assert "link" not in tags
    assert "img" not in tags
    for _, attrs in collector.tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.startswith(("http:", "https:", "//")), value


def test_the_html_page_has_a_plot_per_layer_and_per_group(page: str, document: dict[str, Any]) -> None:
    svgs = re.findall(r"<svg class=\"plot\".*?</svg>", page, flags=re.DOTALL)
    measured = [r for r in document["rows"] if r["status"] not in ("not_implemented",)]
    assert len(svgs) >= len(measured) + 2  # a distribution per measured layer, Taylor and noise floor
    assert all('role="img"' in svg and "aria-label=" in svg for svg in svgs)
    assert max(len(svg) for svg in svgs) < 40_000


def test_failing_layers_are_open_and_passing_ones_collapsed(page: str) -> None:
    details = re.findall(r'<details class="layer" id="layer-(\w+)"( open)?>', page)
    opened = {name for name, flag in details if flag}
    assert opened == {"Softmax", "Sigmoid"}
    assert "Affine" in {name for name, _ in details}


def test_the_html_shows_cases_by_check(page: str) -> None:
    assert "by case:" in page
    assert "rank 2 · moderate" in page
    assert "AxisError in backward" in page


def test_the_html_page_escapes_document_text(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, "main")
    sink.planned([("Affine", "forward")], {"Affine": {"group": "scratchnn.layers"}})
    failing = Measurement(
        "Affine",
        "forward",
        "out",
        "float64",
        "fail",
        case="<b>case</b>",
        detail='<script>alert("x")</script> & more',
        example={"dims": {}, "case": {}, "seed": 1},
    )
    sink.measurement(failing)
    case = CaseOutcome("Affine", "forward", "<b>case</b>", {}, "fail", examples=1, failing=[failing])
    sink.case(case)
    sink.outcome(Outcome("Affine", "forward", "fail", [case]))
    sink.close()
    document = model.build(tmp_path)
    page = render_html(document)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    assert "<b>case</b>" not in page
    # In Markdown the detail is quoted in a code span, where nothing is markup.
    assert '`<script>alert("x")</script> & more`' in render_markdown(document)


def test_baseline_regressions_appear_in_both_outputs_first(tmp_path: Path) -> None:
    good = model.build(record_run(tmp_path / "good", Implementation((scratchnn,)), [("Affine", "gradient")]))
    broken = next(v for v in VARIANTS if v.id == "affine-bias-mean").as_learner_class()
    bad = model.build(record_run(tmp_path / "bad", learner(Affine=broken), [("Affine", "gradient")]))
    bad["baseline"] = baseline.compare(bad, good, "good/conformance.json")
    markdown, page = render_markdown(bad), render_html(bad)
    assert (
        markdown.index("## Changes since baseline") < markdown.index("## Failures")
        or "## Failures" in markdown
    )
    assert "### Regressions" in markdown
    assert "pass → FAIL" in markdown
    assert 'id="baseline"' in page
    assert page.index('id="baseline"') < page.index('id="layers"')
    assert '<tr class="regression">' in page


def test_every_failing_case_of_the_document_is_on_the_page(document: dict[str, Any], page: str) -> None:
    for row in document["rows"]:
        for check in row["checks"].values():
            for case in check["cases"]:
                if case["status"] in ("fail", "error") and case["cause"]:
                    assert html.escape(case["cause"], quote=True) in page, case["cause"]


def test_a_likely_cause_is_shown_in_every_output_and_its_absence_said_plainly(tmp_path: Path) -> None:
    flipped = next(v for v in VARIANTS if v.id == "sigmoidloss-flipped-sign").as_learner_class()
    implementation = learner(SigmoidWithLoss=flipped, Softmax=book_layers.Softmax)
    tests = [("SigmoidWithLoss", "gradient"), ("Softmax", "gradient")]
    document = model.build(record_run(tmp_path, implementation, tests))

    def minimal(layer: str) -> dict[str, Any]:
        row = next(r for r in document["rows"] if r["layer"] == layer)
        dx = next(t for t in row["checks"]["gradient"]["targets"] if t["target"] == "dx")
        return dx["minimal_failing_example"]  # type: ignore[no-any-return]

    flipped_sign = minimal("SigmoidWithLoss")["diagnosis"]
    assert flipped_sign["entry"] == "scaled"
    assert flipped_sign["parameters"]["k"] == pytest.approx(-1.0)
    assert flipped_sign["residual"] < 1e-12
    # the book's Softmax backward sums over axis 1 whatever the rank: no entry fits that
    unexplained = minimal("Softmax")["diagnosis"]
    assert unexplained["entry"] is None
    sentence = "likely cause: dx is the right value times a constant, k = -1 = −1"
    for text in (render_markdown(document), render_html(document)):
        assert sentence in text
        assert "no catalogued cause fits (nothing guessed)" in text


@pytest.mark.parametrize(
    ("margin", "shown"),
    [(6.8e47, "7e47"), (1.2e6, "1e6"), (999_999, "999,999"), (12.3, "12"), (1.5, "1.50"), (0.004, "4.0e-03")],
)
def test_a_margin_is_shown_in_few_characters(margin: float, shown: str) -> None:
    """A stable sigmoid's margin at 1e4 inputs is 1e47: 48 digits would not fit the grid's cell."""
    assert _margin(margin) == shown
