"""Command line of the conformance harness.

    python -m conformance run    [--impl M[,M...]] [--checks correctness|robustness|all|NAME,...]
                                 [--alias ROW=NAME] [--profile ci] [-k EXPR] [-n N] [--out DIR] [-q]
    python -m conformance list   [--impl M[,M...]] [--alias ROW=NAME]
    python -m conformance replay LAYER CHECK --example JSON [--impl M[,M...]] [--alias ROW=NAME]
    python -m conformance report --records DIR [--baseline OLD.json] [--out DIR]

``run`` exits with 0 exactly when every selected check ran and none failed
(not-implemented classes, constructors that do not fit and checks that do not
apply are not failures); otherwise pytest's codes: 1 (a check failed), 2
(interrupted), 4 (usage or configuration error, e.g. an implementation module
that cannot be imported), 5 (-k selected nothing). It writes conformance.json,
conformance.md and index.html to --out, compared with the report already there
(or --baseline); a configuration problem leaves the reports there untouched.
``report`` rebuilds those files from stored records and exits with 1 if the
report has failures, is incomplete, or has regressions against the baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance import interrupt, records
from conformance.implementation import Implementation, ImplementationNotFound
from conformance.settings import (
    ALIAS_ENV,
    CAPS_ENV,
    CHECKS_ENV,
    DEFAULT_PROFILE,
    IMPL_ENV,
    MAX_SIZE_ENV,
    PROFILE_ENV,
    PROFILES,
    QUIET_ENV,
    aliases,
    caps,
    max_size,
    selected_profile,
)

EXIT_USAGE = 4
"""As pytest's own usage error: the exit codes of run are pytest's (0 passed, 1 failed,
2 interrupted, 3 internal error, 4 usage error, 5 nothing selected)."""


def _add_impl(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--impl",
        default=None,
        metavar="MODULE[,MODULE...]",
        help=f"modules of the implementation under test, searched in order for each class "
        f"(default: ${IMPL_ENV} or scratchnn)",
    )
    parser.add_argument(
        "--alias",
        action="append",
        default=None,
        metavar="ROW=NAME",
        help="check the class NAME as the row ROW (repeatable), e.g. --alias SoftmaxWithLoss=SoftMaxWithLoss",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="check every layer and write the reports")
    _add_impl(run)
    run.add_argument(
        "--checks",
        default="all",
        metavar="GROUP|NAME,...",
        help="correctness (forward, gradient, finite_difference, taylor, float32, contract, sampling), "
        "robustness (stability, bad_input), all (default), or check names separated by commas",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress lines while the checks run")
    run.add_argument(
        "--profile",
        choices=PROFILES,
        default=None,
        help=f"Hypothesis profile (default: ${PROFILE_ENV} or {DEFAULT_PROFILE})",
    )
    run.add_argument(
        "-k",
        dest="keyword",
        default=None,
        metavar="EXPR",
        help='select rows and checks like pytest -k, e.g. "Affine and gradient"',
    )
    run.add_argument(
        "-n",
        dest="workers",
        default=None,
        metavar="N",
        help="pytest-xdist worker processes (a number or 'auto')",
    )
    run.add_argument("--out", type=Path, default=Path("reports"), help="report directory (default: reports)")
    run.add_argument(
        "--max-size",
        type=int,
        default=None,
        help=f"one cap on every drawn size (default: ${MAX_SIZE_ENV}, or the profile's caps per dimension)",
    )
    run.add_argument(
        "--cap",
        action="append",
        default=None,
        metavar="CLASS=N",
        help="cap one class of dimensions: size, time, vocab or hidden (repeatable; e.g. --cap time=8)",
    )
    run.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="earlier conformance.json to compare with (default: the one already in --out)",
    )
    run.add_argument("--no-baseline", action="store_true", help="do not compare with an earlier report")
    run.add_argument("pytest_args", nargs="*", help="further pytest arguments, after --")

    report = commands.add_parser("report", help="rebuild the reports from the records of a run")
    report.add_argument("--records", type=Path, required=True, help="the records directory of a run")
    report.add_argument(
        "--baseline", type=Path, default=None, help="earlier conformance.json to compare with"
    )
    report.add_argument(
        "--out", type=Path, default=Path("reports"), help="report directory (default: reports)"
    )

    listing = commands.add_parser("list", help="list the registry rows and checks")
    _add_impl(listing)

    replay = commands.add_parser("replay", help="run one check on one example from a failure message")
    replay.add_argument("layer")
    replay.add_argument("check")
    replay.add_argument("--example", required=True, help="the example JSON printed in the failure message")
    _add_impl(replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run(args)
    if args.command == "list":
        return list_rows(args)
    if args.command == "report":
        return report(args)
    return replay(args)


def _load_implementation(spec: str | None, alias: list[str] | None = None) -> Implementation | None:
    """The implementation named by ``spec``, importable from the working directory (the
    ``conformance`` console script, unlike ``python -m``, does not put it on the path)."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if alias:
            os.environ[ALIAS_ENV] = ",".join(alias)
        return Implementation.load(spec, aliases())
    except (ImplementationNotFound, ValueError) as error:
        print(f"conformance: {error}", file=sys.stderr)
        return None


def _configure(args: argparse.Namespace) -> str:
    """Put the run's settings where pytest-xdist workers find them (the environment); the
    problem with them, if any."""
    from conformance.measurement import select_checks

    if args.impl:
        os.environ[IMPL_ENV] = args.impl
    os.environ[PROFILE_ENV] = args.profile or selected_profile()
    os.environ[CHECKS_ENV] = args.checks
    if args.quiet:
        os.environ[QUIET_ENV] = "1"
    if args.cap:
        os.environ[CAPS_ENV] = ",".join(args.cap)
    if args.max_size is not None:
        if args.max_size < 1:
            return "--max-size must be a positive integer"
        os.environ[MAX_SIZE_ENV] = str(args.max_size)
    # The working directory goes on the path so that a learner's modules next to it import
    # in every worker.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))
    try:
        select_checks(args.checks)
        caps()
    except ValueError as error:
        return str(error)
    suite = Path(__file__).parent / "suite"
    if not (suite / "pytest.ini").is_file() or not (suite / "test_conformance.py").is_file():
        return f"the conformance suite is missing from {suite}: reinstall the package (pip install scratchnn)"
    return ""


def run(args: argparse.Namespace) -> int:
    import pytest

    problem = _configure(args)
    if problem:
        print(f"conformance: {problem}", file=sys.stderr)
        return EXIT_USAGE
    implementation = _load_implementation(args.impl, args.alias)
    if implementation is None:
        return EXIT_USAGE

    out: Path = args.out
    try:
        implicit = None if args.no_baseline else out / "conformance.json"
        baseline = _baseline(args.baseline or implicit, explicit=args.baseline is not None)
    except UnreadableBaseline as error:
        print(f"conformance: {error}", file=sys.stderr)
        return EXIT_USAGE
    # Records go to a fresh directory and replace the previous run's only once reports are written.
    directory = out / "records.partial"
    records.clear(directory)
    from conformance.environment import describe_environment

    manifest = {
        "started": _now(),
        "profile": os.environ[PROFILE_ENV],
        "implementation": implementation.spec,
        "checks": args.checks,
        "aliases": dict(implementation.explicit_aliases),
        "keyword": args.keyword,
        "workers": args.workers,
        "max_size": max_size(),
        "caps": caps(),
        "environment": describe_environment(),
    }
    records.write_manifest(directory, manifest)

    suite = Path(__file__).parent / "suite"
    pytest_args = [
        "-c",
        str(suite / "pytest.ini"),
        "--rootdir",
        str(suite),
        "-p",
        "conformance.pytest_plugin",
        "--records",
        str(directory),
        "--hypothesis-profile",
        os.environ[PROFILE_ENV],
        "-q",
        str(suite),
    ]
    if args.quiet:
        pytest_args.append("-q")
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.workers:
        pytest_args += ["-n", str(args.workers)]
    pytest_args += list(args.pytest_args)
    exit_code = int(pytest.main(pytest_args))

    manifest |= {"finished": _now(), "pytest_exit_code": exit_code, "complete": exit_code in (0, 1)}
    records.write_manifest(directory, manifest)
    if exit_code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print(f"conformance: no row and check matched -k {args.keyword!r}", file=sys.stderr)
        _discard(directory)
        return exit_code
    if exit_code not in (0, 1) and not interrupt.requested() and not records.has_outcomes(directory):
        print(
            f"conformance: pytest stopped before any check ran (exit code {exit_code}): a configuration or"
            f" installation problem, shown above; the reports in {out} are untouched",
            file=sys.stderr,
        )
        _discard(directory)
        return exit_code if exit_code != pytest.ExitCode.INTERRUPTED else EXIT_USAGE
    document = _write_reports(directory, out, baseline)
    records.replace(directory, out / "records")
    _print_grid(document)  # -q silences the progress lines, not the summary
    _print_verdict(document)
    from conformance.report.summary import NOTHING_CHECKED

    if exit_code == pytest.ExitCode.OK and NOTHING_CHECKED in document["summary"]["verdicts"]:
        # Every row found was a signature mismatch or a near-miss name: not a failure, but not a pass either.
        return int(pytest.ExitCode.NO_TESTS_COLLECTED)
    return exit_code


def _discard(directory: Path) -> None:
    records.clear(directory)
    with contextlib.suppress(OSError):
        directory.rmdir()


def _print_grid(document: dict[str, Any]) -> None:
    """The layers × checks grid, as in conformance.md."""
    from conformance.report.summary import grid

    table = grid(document)
    if len(table) <= 1:
        return
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    print()
    for index, row in enumerate(table):
        print("  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def _print_verdict(document: dict[str, Any]) -> None:
    from conformance.report.summary import absent_line, unchecked_lines, verdict_line

    for line in unchecked_lines(document):
        print(f"conformance: not checked: {line}")
    absent = absent_line(document)
    if absent:
        print(f"conformance: {absent}")
    verdict = verdict_line(document["summary"])
    if verdict:
        print(f"conformance: {verdict}")


Baseline = tuple[dict[str, Any], str]


class UnreadableBaseline(Exception):
    """An explicitly requested baseline report cannot be read."""


def _baseline(path: Path | None, explicit: bool) -> Baseline | None:
    """The earlier report to compare with, or None. An implicit one (the report already in
    --out) that is missing or unreadable is skipped; an explicit one must be readable."""
    from conformance.report.write import load_report

    if path is None or (not explicit and not path.exists()):
        return None
    try:
        return load_report(path), str(path)
    except (OSError, ValueError) as error:
        if explicit:
            raise UnreadableBaseline(f"cannot read baseline {path}: {error}") from error
        print(f"conformance: not comparing with {path}: {error}", file=sys.stderr)
        return None


def _write_reports(directory: Path, out: Path, baseline: Baseline | None) -> dict[str, Any]:
    from conformance.report.write import REPORT_FILES, build_and_write

    document = build_and_write(directory, out, baseline)
    summary = document["summary"]
    state = "" if document["complete"] else " (the run was interrupted; the reports say what it measured)"
    status = str(summary["status"]).replace("_", " ")
    print(f"conformance: {status}{state}; reports in {out}: {', '.join(REPORT_FILES)}")
    comparison = document.get("baseline")
    if comparison:
        print(
            f"conformance: against {comparison['path']}: {comparison['regressions']} regression(s), "
            f"{comparison['status_changes']} status change(s)"
        )
        for entry in comparison["entries"]:
            if entry["regression"]:
                print(
                    f"  REGRESSION {entry['layer']} {entry['check']} {entry['target']} ({entry['dtype']}): "
                    f"{entry['reason']}"
                )
    return document


def report(args: argparse.Namespace) -> int:
    if not (args.records / records.MANIFEST).exists() and not any(args.records.glob("*.jsonl")):
        print(f"conformance: no records in {args.records}", file=sys.stderr)
        return EXIT_USAGE
    try:
        baseline = _baseline(args.baseline, explicit=True)
    except UnreadableBaseline as error:
        print(f"conformance: {error}", file=sys.stderr)
        return EXIT_USAGE
    document = _write_reports(args.records, args.out, baseline)
    regressions = (document.get("baseline") or {}).get("regressions", 0)
    return 1 if document["summary"]["status"] in ("fail", "incomplete") or regressions else 0


def list_rows(args: argparse.Namespace) -> int:
    from conformance.checks import CHECKS
    from conformance.registry import ROWS

    implementation = _load_implementation(args.impl, args.alias)
    if implementation is None:
        return EXIT_USAGE
    print(f"implementation: {implementation.spec}")
    print(f"checks: {', '.join(CHECKS)}")
    for row in ROWS:
        resolution = implementation.resolve(row)
        if resolution.cls is not None:
            found = resolution.cls
            where = f"{found.__module__}.{found.__qualname__}"
            if resolution.name != row.name:
                where += f" (as {resolution.name})"
        else:
            where = resolution.message
        targets = ", ".join(row.gradient_targets()) or "-"
        axes = " × ".join(f"{axis.name}" for axis in row.axes(("moderate", "zeros"))) or "-"
        print(f"  {row.name:22} {row.convention.signature(row):44} {where}")
        print(f"  {'':22} gradients {targets}; cases by {axes}")
    return 0


def replay(args: argparse.Namespace) -> int:
    from conformance.checks import CHECKS, Context
    from conformance.examples import materialize
    from conformance.registry import row_named
    from conformance.spec import ExampleSpec

    if args.check not in CHECKS:
        print(f"conformance: unknown check {args.check!r}; checks: {', '.join(CHECKS)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        row = row_named(args.layer)
        spec = ExampleSpec.from_json(json.loads(args.example), row)
    except (KeyError, ValueError, TypeError) as error:
        print(f"conformance: {error}", file=sys.stderr)
        return EXIT_USAGE
    implementation = _load_implementation(args.impl, args.alias)
    if implementation is None:
        return EXIT_USAGE
    resolution = implementation.resolve(row)
    if resolution.cls is None:
        print(f"{row.name}: {resolution.message}")
        return 0
    context = Context(row, resolution.cls, materialize(row, spec), implementation.spec)
    measurements = CHECKS[args.check].run(context)
    for measurement in measurements:
        print(measurement.describe())
    return 1 if any(m.failed for m in measurements) else 0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
