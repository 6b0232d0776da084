"""The fault battery (issue 4, item 5): every case of tests/faults/cases.py against the project's own misbehaving
server (tests/faults/server.py), sync and async, with its stated outcome: retried then succeeds (the attempts the
server saw are asserted), a clear typed error (the exact class, its message naming what happened), or
InferenceTimeoutError within the deadline plus 1 s. Nothing raw (httpx, json, pydantic) may escape.

`python -m tests.faults.report` (make faults) runs the same cases and prints the table."""

from __future__ import annotations

from typing import Iterator

import pytest

from inferlink import InferenceError, InferenceTimeoutError

from .faults.cases import CASES, FAST_BACKOFF, MARGIN, Case, Outcome, problems, run_async, run_sync
from .faults.server import FaultServer


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff of 10 ms instead of 500 ms: the cases assert attempts, not the default delays."""
    monkeypatch.setattr("inferlink._retry.INITIAL_DELAY", FAST_BACKOFF)


def check(case: Case, outcome: Outcome) -> None:
    error = outcome.error
    if error is not None:
        assert isinstance(error, InferenceError), f"raw {type(error).__module__}.{type(error).__name__}: {error}"
    if case.kind == "ok":
        assert error is None, f"expected success, got {type(error).__name__}: {error}"
    else:
        assert case.error is not None
        assert type(error) is case.error, f"expected {case.error.__name__}, got {type(error).__name__}: {error}"
    if case.kind == "timeout":
        assert isinstance(error, InferenceTimeoutError)
        assert case.bound is not None and outcome.elapsed <= case.bound + MARGIN, outcome.elapsed
    if case.attempts is not None:
        assert outcome.attempts == case.attempts, f"the server saw {outcome.attempts} attempts"
    assert problems(case, outcome) == []  # messages, attributes, chunks, values and the other timings


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_sync(case: Case, fault_server: FaultServer) -> None:
    check(case, run_sync(case, fault_server))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_fault_async(case: Case, fault_server: FaultServer) -> None:
    check(case, await run_async(case, fault_server))


# --- the battery itself ----------------------------------------------------------------------------------------------

def test_battery_covers_every_fault_the_issue_names() -> None:
    from .faults.server import FAULTS

    used = {c.fault for c in CASES}
    assert set(FAULTS) <= used, f"faults without a case: {set(FAULTS) - used}"
    assert {"refused", "ok"} <= used
    assert {c.kind for c in CASES} == {"ok", "error", "timeout"}
    assert len({c.name for c in CASES}) == len(CASES)


def test_the_server_counts_attempts_per_key(fault_server: FaultServer) -> None:
    """A case that needs retries fails when the server sees one attempt: the counter itself must work."""
    import httpx

    url = fault_server.url("status", "count-check", {"codes": 503, "fail": 2})
    with httpx.Client() as http:
        statuses = [http.post(url, json={"inputs": "x"}).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert fault_server.attempts("count-check") == 3
    assert fault_server.attempts("never-used") == 0
