"""The fault table: every case of tests/faults/cases.py, sync and async, against the fault server.

    python -m tests.faults.report [-v] [name ...]     (make faults)

Prints fault | expected | sync outcome | async outcome | elapsed (s) | PASS/FAIL, then what differed for each failed
row (-v: for every row); exits 1 if any row fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from .cases import CASES, Case, Outcome, fast_backoff, problems, run_async, run_sync
from .server import FaultServer


def _cell(outcome: Outcome, found: list[str]) -> str:
    return outcome.summary() + ("" if not found else " !")


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("-|-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="run only these cases")
    parser.add_argument("-v", "--verbose", action="store_true", help="show details for passing rows too")
    args = parser.parse_args(argv)
    cases: list[Case] = [c for c in CASES if not args.names or c.name in args.names]
    if not cases:
        parser.error(f"no such case; known: {', '.join(c.name for c in CASES)}")
    fast_backoff()

    rows = [["fault", "expected", "sync outcome", "async outcome", "elapsed (s)", "result"]]
    details: list[str] = []
    failed = 0
    started = time.monotonic()
    with FaultServer() as server:
        for case in cases:
            row_start = time.monotonic()
            sync = run_sync(case, server)
            asyn = asyncio.run(run_async(case, server))
            sync_found, async_found = problems(case, sync), problems(case, asyn)
            passed = not sync_found and not async_found
            failed += not passed
            rows.append([case.name, case.expected, _cell(sync, sync_found), _cell(asyn, async_found),
                         f"{sync.elapsed:.2f} / {asyn.elapsed:.2f}", "PASS" if passed else "FAIL"])
            if not passed or args.verbose:
                for mode, outcome, found in (("sync", sync, sync_found), ("async", asyn, async_found)):
                    for line in found:
                        details.append(f"  {case.name} [{mode}]: {line}")
                    if args.verbose and outcome.error is not None and not found:
                        details.append(f"  {case.name} [{mode}]: {type(outcome.error).__name__}: {outcome.error}")
            print(f"  {case.name}: {'PASS' if passed else 'FAIL'} ({time.monotonic() - row_start:.2f} s)",
                  file=sys.stderr, flush=True)
    total = time.monotonic() - started
    print(_table(rows))
    print("(! marks an outcome that differs from the expected one; a row passes when sync and async both match)")
    print(f"\n{len(cases) - failed}/{len(cases)} rows pass (sync and async), {total:.1f} s")
    if details:
        print("\n" + ("details:" if args.verbose else "failures:"))
        print("\n".join(details))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
