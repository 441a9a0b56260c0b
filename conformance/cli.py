"""Command line of the conformance harness.

    python -m conformance run    [--impl M[,M...]] [--profile ci] [-k EXPR] [-n N] [--out DIR]
    python -m conformance list   [--impl M[,M...]]
    python -m conformance replay LAYER CHECK --example JSON [--impl M[,M...]]
    python -m conformance report --records DIR [--baseline OLD.json] [--out DIR]

``run`` exits with 0 exactly when every selected check ran and none failed
(not-implemented classes and checks that do not apply are not failures);
otherwise pytest's codes: 1 (a check failed), 2 (interrupted), 4 (usage error,
e.g. an implementation module that cannot be imported), 5 (-k selected
nothing). It writes conformance.json, conformance.md and index.html to --out,
compared with the report already there (or --baseline). ``report`` rebuilds
those files from stored records and exits with 1 if the report has failures,
is incomplete, or has regressions against the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance import records
from conformance.implementation import Implementation, ImplementationNotFound
from conformance.settings import (
    DEFAULT_MAX_SIZE,
    DEFAULT_PROFILE,
    IMPL_ENV,
    MAX_SIZE_ENV,
    PROFILE_ENV,
    PROFILES,
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
        help=f"cap on every drawn dimension (default: ${MAX_SIZE_ENV} or {DEFAULT_MAX_SIZE})",
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


def _load_implementation(spec: str | None) -> Implementation | None:
    """The implementation named by ``spec``, importable from the working directory (the
    ``conformance`` console script, unlike ``python -m``, does not put it on the path)."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return Implementation.load(spec)
    except ImplementationNotFound as error:
        print(f"conformance: {error}", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    import pytest

    # Workers (pytest-xdist) inherit the environment: the implementation, the
    # profile and the size cap travel there; the working directory goes on the
    # path so that a learner's modules next to it import in every worker.
    if args.impl:
        os.environ[IMPL_ENV] = args.impl
    profile = args.profile or selected_profile()
    os.environ[PROFILE_ENV] = profile
    if args.max_size is not None:
        if args.max_size < 1:
            print("conformance: --max-size must be a positive integer", file=sys.stderr)
            return EXIT_USAGE
        os.environ[MAX_SIZE_ENV] = str(args.max_size)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))
    implementation = _load_implementation(args.impl)
    if implementation is None:
        return EXIT_USAGE

    out: Path = args.out
    try:
        implicit = None if args.no_baseline else out / "conformance.json"
        baseline = _baseline(args.baseline or implicit, explicit=args.baseline is not None)
    except UnreadableBaseline as error:
        print(f"conformance: {error}", file=sys.stderr)
        return EXIT_USAGE
    directory = out / "records"
    records.clear(directory)
    from conformance.environment import describe_environment

    manifest = {
        "started": _now(),
        "profile": profile,
        "implementation": implementation.spec,
        "keyword": args.keyword,
        "workers": args.workers,
        "max_size": max_size(),
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
        profile,
        "-q",
        str(suite),
    ]
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
        return exit_code
    _write_reports(directory, out, baseline)
    return exit_code


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
    print(f"conformance: {summary['status']}{state}; reports in {out}: {', '.join(REPORT_FILES)}")
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

    implementation = _load_implementation(args.impl)
    if implementation is None:
        return EXIT_USAGE
    print(f"implementation: {implementation.spec}")
    print(f"checks: {', '.join(CHECKS)}")
    for row in ROWS:
        found = implementation.find(row.name)
        where = f"{found.__module__}.{found.__qualname__}" if found else "not implemented"
        targets = ", ".join(row.gradient_targets()) or "-"
        skipped = f"; not applicable: {', '.join(row.not_applicable)}" if row.not_applicable else ""
        regimes = ", ".join(row.regimes)
        print(
            f"  {row.name:18} {row.kind.value:6} gradients {targets:22} regimes {regimes:18} {where}{skipped}"
        )
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
        spec = ExampleSpec.from_json(json.loads(args.example))
    except (KeyError, ValueError, TypeError) as error:
        print(f"conformance: {error}", file=sys.stderr)
        return EXIT_USAGE
    implementation = _load_implementation(args.impl)
    if implementation is None:
        return EXIT_USAGE
    cls = implementation.find(row.name)
    if cls is None:
        print(f"{row.name} is not implemented by {implementation.spec}")
        return 0
    context = Context(row, cls, materialize(row, spec), implementation.spec)
    measurements = CHECKS[args.check](context)
    for measurement in measurements:
        print(measurement.describe())
    return 1 if any(m.failed for m in measurements) else 0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
