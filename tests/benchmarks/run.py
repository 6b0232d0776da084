"""The benchmark: inferlink against raw httpx, on one fast local server (`make bench`).

    python -m tests.benchmarks.run                       # every scenario; the table to stdout and RESULTS.md
    python -m tests.benchmarks.run --profile sync_chat   # inferlink's side of one scenario under cProfile
    python -m tests.benchmarks.run --profile sync_stream --side httpx    # ... or raw httpx's, to compare
    python -m tests.benchmarks.run --profile import      # python -X importtime of `import inferlink`

The server (server.py) runs in its own process pinned to one CPU, every measurement in a fresh worker process
(worker.py) pinned to the other; for each scenario raw httpx and inferlink alternate (httpx, inferlink, httpx, ...)
and the table shows medians. Raw httpx does the minimal equivalent work: POST pre-serialized JSON bytes and
json.loads the body; for streams, iter_lines() and json.loads of each data line.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from .worker import ASYNC_SCENARIOS, CLIENT_CPU, MEMORY_SCENARIOS, SCENARIOS, THROUGHPUT_SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).with_name("RESULTS.md")
SERVER_CPU = 1
SIDES = ("httpx", "inferlink")
ROUNDS = 3
IMPORT_ROUNDS = 5  # an import is cheap and noisy: more rounds
REGEN_LIMIT_S = 5.0
FLAT_MB = 1.0  # RSS growth over the memory runs below which memory counts as flat
BUSY_LOAD = 0.5  # a 1-minute load average above this before or after the run: say the figures are noisy
SYNC_CALLS = ("sync_chat", "tgi_generate", "feature_extraction", "text_classification")

# scenario -> (warm-up, timed count): calls, or streams for the stream scenarios (2,002 events each). Chosen so that
# one measurement takes about a second on the 2-core VM and the whole run stays well under 5 minutes.
COUNTS: dict[str, tuple[int, int]] = {
    "sync_chat": (200, 800),
    "async_chat": (128, 512),
    "sync_stream": (2, 8),
    "async_stream": (2, 8),
    "tgi_generate": (200, 800),
    "feature_extraction": (200, 800),
    "text_classification": (200, 800),
    "memory_stream": (1, 20),  # 1,000-chunk streams
    "memory_calls": (100, 10_000),
}

LABELS = {
    "sync_chat": "sync chat completion, calls/s",
    "async_chat": "async chat, 64 in flight, calls/s",
    "sync_stream": "sync stream, 2,000-chunk SSE, chunks/s",
    "async_stream": "async stream, 2,000-chunk SSE, chunks/s",
    "tgi_generate": "TGI /generate + details (20 tokens), calls/s",
    "feature_extraction": "feature extraction (384 floats), calls/s",
    "text_classification": "text classification, calls/s",
}
TARGETS = {  # minimum inferlink / raw httpx throughput ratio
    "sync_chat": 0.90, "async_chat": 2.0, "sync_stream": 0.60, "async_stream": 0.60, "tgi_generate": 0.85,
    "feature_extraction": 0.90, "text_classification": 0.90,
}
IMPORT_TARGET, RSS_TARGET = 1.5, 1.3  # maximum inferlink / raw httpx ratios


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- the server ---------------------------------------------------------------------------------------------------

def two_cpus() -> bool:
    return hasattr(os, "sched_getaffinity") and {CLIENT_CPU, SERVER_CPU} <= os.sched_getaffinity(0)


class Server:
    """The benchmark server in its own process (pinned to SERVER_CPU when the machine has two)."""

    def __init__(self) -> None:
        command = [sys.executable, "-m", "tests.benchmarks.server"]
        if two_cpus():
            command += ["--cpu", str(SERVER_CPU)]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        line = stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.close()
            raise RuntimeError(f"the benchmark server did not start (said {line!r})")
        self.url = f"http://127.0.0.1:{int(line[1])}"
        self.pid = self.process.pid

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- workers ------------------------------------------------------------------------------------------------------

def run_worker(job: dict[str, Any], echo: bool = False) -> dict[str, Any]:
    """Run one measurement in a fresh process of this Python; its RESULT line, parsed."""
    process = subprocess.run([sys.executable, "-m", "tests.benchmarks.worker", json.dumps(job)], cwd=ROOT,
                             capture_output=True, text=True, check=False)
    lines = process.stdout.splitlines()
    if echo:
        print("\n".join(line for line in lines if not line.startswith("RESULT ")))
    if process.returncode != 0 or not lines or not lines[-1].startswith("RESULT "):
        raise RuntimeError(f"worker {job['scenario']}/{job['side']} failed (exit {process.returncode}):\n"
                           f"{process.stdout[-2000:]}\n{process.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    return result


@dataclass
class Runs:
    """The measurements of one scenario, per side."""

    scenario: str
    results: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {side: [] for side in SIDES})

    def median(self, side: str, key: str) -> float:
        return float(statistics.median(float(r[key]) for r in self.results[side]))

    def ratio(self, key: str) -> float:
        return self.median("inferlink", key) / self.median("httpx", key)


def measure_throughput(server: Server, scenario: str, rounds: int) -> Runs:
    warmup, count = COUNTS[scenario]
    runs = Runs(scenario)
    for index in range(rounds):
        for side in SIDES:
            result = run_worker({"scenario": scenario, "side": side, "url": server.url, "server_pid": server.pid,
                                 "warmup": warmup, "count": count})
            result["server_us_per_request"] = result["server_cpu"] / result["requests"] * 1e6
            result["server_busy"] = result["server_cpu"] / result["wall"]
            result["client_us_per_item"] = result["client_cpu"] / result["items"] * 1e6
            result["client_on_cpu"] = result["client_cpu"] / result["wall"]
            runs.results[side].append(result)
            log(f"  {scenario:<20} {side:<9} {index + 1}/{rounds}: {result['rate']:>9,.0f}/s   "
                f"client {result['client_us_per_item']:7.1f} µs/item   server "
                f"{result['server_us_per_request']:8.1f} µs/request ({result['server_busy']:.0%} busy)")
    return runs


def measure_import(server: Server, rounds: int) -> Runs:
    runs = Runs("import")
    for index in range(rounds):
        for side in SIDES:
            result = run_worker({"scenario": "import", "side": side, "url": server.url, "server_pid": server.pid})
            runs.results[side].append(result)
            log(f"  {'import':<20} {side:<9} {index + 1}/{rounds}: {result['import_ms']:6.1f} ms, "
                f"RSS {result['rss_mb']:.1f} MB, {result['modules']} modules")
    return runs


def measure_memory(server: Server, scenario: str) -> Runs:
    warmup, count = COUNTS[scenario]
    runs = Runs(scenario)
    for side in SIDES:
        result = run_worker({"scenario": scenario, "side": side, "url": server.url, "server_pid": server.pid,
                             "warmup": warmup, "count": count})
        runs.results[side].append(result)
        log(f"  {scenario:<20} {side:<9}: peak {result['peak_mb']:.1f} MB, RSS {result['before_mb']:.1f} -> "
            f"{result['middle_mb']:.1f} -> {result['after_mb']:.1f} MB")
    return runs


def _tree_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src" / "inferlink" / "_generated").rglob("*.py")) + [ROOT / "README.md"]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def measure_regeneration() -> dict[str, Any]:
    """Time `python -m codegen` (a fresh interpreter, every spec compiled, written into the repo). When the working
    tree has drifted from specs/ it is not overwritten: the --check run (the same compilation into a temporary
    folder) is reported instead."""
    def timed(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
        start = time.perf_counter()
        process = subprocess.run([sys.executable, "-m", "codegen", *args], cwd=ROOT, capture_output=True, text=True,
                                 check=False)
        return time.perf_counter() - start, process

    before = _tree_digest()
    check_s, check = timed("--check")
    if check.returncode != 0:
        log(f"  regeneration: src/inferlink/_generated differs from specs/; timing --check only ({check_s:.2f} s)")
        return {"seconds": check_s, "check_seconds": check_s, "mode": "check (drift: not written)"}
    seconds, process = timed()
    if process.returncode != 0:
        raise RuntimeError(f"python -m codegen failed:\n{process.stdout}\n{process.stderr}")
    changed = _tree_digest() != before
    log(f"  regeneration: {seconds:.2f} s (check {check_s:.2f} s){'  CHANGED FILES' if changed else ''}")
    return {"seconds": seconds, "check_seconds": check_s, "mode": "written", "changed": changed}


# ---- the table ----------------------------------------------------------------------------------------------------

def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def build_tables(throughput: dict[str, Runs], imports: Runs, memory: dict[str, Runs],
                 regen: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    """The summary table and the details table (client and server cost per scenario)."""
    rows = [["scenario", "raw httpx", "inferlink", "ratio", "target", "met"]]
    for scenario in THROUGHPUT_SCENARIOS:
        runs = throughput[scenario]
        ratio = runs.ratio("rate")
        rows.append([LABELS[scenario], f"{runs.median('httpx', 'rate'):,.0f}",
                     f"{runs.median('inferlink', 'rate'):,.0f}", f"{ratio:.2f}×", f"≥ {TARGETS[scenario]:.2f}×",
                     _verdict(ratio >= TARGETS[scenario])])
    ratio = imports.ratio("import_ms")
    rows.append(["`import` + client construction, ms", f"{imports.median('httpx', 'import_ms'):.1f}",
                 f"{imports.median('inferlink', 'import_ms'):.1f}", f"{ratio:.2f}×", f"≤ {IMPORT_TARGET:.1f}×",
                 _verdict(ratio <= IMPORT_TARGET)])
    ratio = imports.ratio("rss_mb")
    rows.append(["RSS after import + client, MB", f"{imports.median('httpx', 'rss_mb'):.1f}",
                 f"{imports.median('inferlink', 'rss_mb'):.1f}", f"{ratio:.2f}×", f"≤ {RSS_TARGET:.1f}×",
                 _verdict(ratio <= RSS_TARGET)])
    rows.append(["full regeneration (`python -m codegen`), s", "—", f"{regen['seconds']:.2f}", "—",
                 f"< {REGEN_LIMIT_S:.0f} s", _verdict(regen["seconds"] < REGEN_LIMIT_S)])
    for scenario, label in (("memory_stream", "peak RSS, 1,000-chunk stream ×20, MB"),
                            ("memory_calls", "peak RSS, 10,000 sequential calls, MB")):
        runs = memory[scenario]
        growth = runs.median("inferlink", "growth_mb")
        rows.append([label, f"{runs.median('httpx', 'peak_mb'):.1f}", f"{runs.median('inferlink', 'peak_mb'):.1f}",
                     f"{runs.ratio('peak_mb'):.2f}×",
                     f"flat (growth {growth:+.1f} MB; httpx {runs.median('httpx', 'growth_mb'):+.1f})",
                     _verdict(growth <= FLAT_MB)])

    details = [["scenario", "client CPU µs/item: httpx", "inferlink", "ratio", "client on CPU: httpx / inferlink",
                "server CPU µs/request: httpx", "inferlink", "server busy (max)"]]
    for scenario in THROUGHPUT_SCENARIOS:
        runs = throughput[scenario]
        busy = max(r["server_busy"] for side in SIDES for r in runs.results[side])
        details.append([scenario, f"{runs.median('httpx', 'client_us_per_item'):.1f}",
                        f"{runs.median('inferlink', 'client_us_per_item'):.1f}",
                        f"{runs.ratio('client_us_per_item'):.2f}×",
                        f"{runs.median('httpx', 'client_on_cpu'):.0%} / "
                        f"{runs.median('inferlink', 'client_on_cpu'):.0%}",
                        f"{runs.median('httpx', 'server_us_per_request'):,.0f}",
                        f"{runs.median('inferlink', 'server_us_per_request'):,.0f}", f"{busy:.0%}"])
    return rows, details


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def plain(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {name: metadata.version(name) for name in ("httpx", "httpcore", "pydantic", "pydantic-core",
                                                           "inferlink")}
    return {"cpu": model, "cores": str(os.cpu_count()), "python": platform.python_version(),
            **versions, "platform": platform.platform()}


def write_results(rows: list[list[str]], details: list[list[str]], info: dict[str, str], notes: list[str]) -> None:
    pinned = (f"server pinned to CPU {SERVER_CPU}, clients to CPU {CLIENT_CPU}" if two_cpus()
              else "not pinned (fewer than two CPUs available)")
    text = f"""# inferlink benchmark results

Written by `make bench` (`python -m tests.benchmarks.run`) on {info['date']}.

- machine: {info['cpu']}, {info['cores']} cores ({info['platform']}); {pinned}
- load average (1 min) before / after: {info['load_before']} / {info['load_after']}
- Python {info['python']}; httpx {info['httpx']}, httpcore {info['httpcore']}, pydantic {info['pydantic']} \
(pydantic-core {info['pydantic-core']}); inferlink {info['inferlink']}
- throughput: medians of {info['rounds']} fresh processes per side, raw httpx and inferlink alternating; \
import: medians of {info['import_rounds']}; memory and regeneration: one run each. Whole run: {info['elapsed']}.

{markdown(rows)}

Cost per item (a call, or a stream chunk) and what the server spent, medians of the same runs. "server busy" is the
server's CPU time (from /proc/<pid>/task/*/schedstat) over the wall time of a run: far below 100% means the server
was not the bottleneck.

{markdown(details)}

How it measures: one asyncio Protocol-based HTTP/1.1 keep-alive server with pre-built responses (a ~640-byte
OpenAI chat completion, a 2,000-chunk chat SSE stream sent chunked, a TGI /generate answer with 20 detailed tokens,
384 floats as `[[...]]`, six `[[{{label, score}}]]`). Raw httpx (default `httpx.Client()` / `httpx.AsyncClient()`)
posts pre-serialized JSON and `json.loads` the body; its streams use `iter_lines()` and `json.loads` each data line.
inferlink makes the typed calls (`chat_completion`, `text_generation(details=True, max_new_tokens=20)` with
`provider="tgi"`, `feature_extraction`, `text_classification` against the endpoint URL) and returns typed models.
"""
    if notes:
        text += "\nNotes:\n" + "".join(f"- {note}\n" for note in notes)
    RESULTS.write_text(text)
    # The README's performance section is this output, without its own title.
    readme = ROOT / "README.md"
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    current = readme.read_text()
    if start in current and end in current:
        body = text.split("\n", 2)[2].strip()
        head, rest = current.split(start, 1)
        readme.write_text(head + start + "\n" + body + "\n" + end + rest.split(end, 1)[1])


def full_run(rounds: int, write: bool) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    notes: list[str] = []
    with Server() as server:
        log(f"server {server.url} (pid {server.pid})")
        throughput = {}
        for scenario in THROUGHPUT_SCENARIOS:
            throughput[scenario] = measure_throughput(server, scenario, rounds)
        imports = measure_import(server, max(rounds, IMPORT_ROUNDS))
        memory = {scenario: measure_memory(server, scenario) for scenario in MEMORY_SCENARIOS}
    regen = measure_regeneration()
    load_after = os.getloadavg()[0]
    if max(load_before, load_after) > BUSY_LOAD:
        on_cpu = [r["client_on_cpu"] for scenario in SYNC_CALLS for side in SIDES
                  for r in throughput[scenario].results[side]]
        notes.append(f"other work was running on this machine (1-minute load average {load_before:.2f} before, "
                     f"{load_after:.2f} after, on {os.cpu_count()} cores): in the sync call scenarios the client "
                     f"was on CPU only {min(on_cpu):.0%}-{max(on_cpu):.0%} of the wall time, and a busy sibling "
                     f"CPU slows even the client's CPU time per item, so both vary from run to run (by up to a "
                     f"third here): compare several runs, or `--rounds 5`, before concluding.")
    if regen["mode"] != "written":
        notes.append("regeneration: the working tree differed from specs/, so `python -m codegen --check` (the same "
                     "compilation, into a temporary folder) was timed instead of writing into the repo.")
    elif regen.get("changed"):
        notes.append("regeneration changed files in src/inferlink/_generated or README.md.")
    elapsed = time.perf_counter() - started
    info = {**machine(), "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "load_before": f"{load_before:.2f}", "load_after": f"{load_after:.2f}",
            "rounds": str(rounds), "import_rounds": str(max(rounds, IMPORT_ROUNDS)),
            "elapsed": f"{elapsed:.0f} s"}
    rows, details = build_tables(throughput, imports, memory, regen)
    print()
    print(plain(rows))
    print()
    print(plain(details))
    print(f"\n{info['cpu']}, {info['cores']} cores; Python {info['python']}, httpx {info['httpx']}, "
          f"httpcore {info['httpcore']}, pydantic {info['pydantic']}; load {info['load_before']} -> "
          f"{info['load_after']}; {info['elapsed']}")
    for note in notes:
        print(f"note: {note}")
    if write:
        write_results(rows, details, info, notes)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


def profile_imports(top: int) -> int:
    """`python -X importtime` of `import inferlink` + a client: the top modules by cumulative and by own time."""
    code = "import inferlink; inferlink.InferenceClient(base_url='http://127.0.0.1:9/v1', model='org/model')"
    process = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True,
                             text=True, check=True)
    entries: list[tuple[int, int, str]] = []
    for line in process.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            own, cumulative, name = line[len("import time:"):].split("|", 2)
            entries.append((int(own), int(cumulative), name[1:].rstrip()))  # nesting: two spaces a level
    total = max(entry[1] for entry in entries if not entry[2].startswith(" "))
    print(f"import inferlink + client: {len(entries)} modules, "
          f"{sum(e[1] for e in entries if not e[2].startswith(' ')) / 1000:.1f} ms in top-level imports "
          f"(largest {total / 1000:.1f} ms)")
    for index, title in ((1, "cumulative"), (0, "own")):
        print(f"\n=== top {top} by {title} time (µs) ===")
        print(f"{'own':>8} {'cumulative':>11}  module")
        for own_us, cumulative_us, module in sorted(entries, key=lambda e: e[index], reverse=True)[:top]:
            print(f"{own_us:>8} {cumulative_us:>11}  {module.strip()}")
    return 0


def profile(scenario: str, side: str, top: int, clock: str) -> int:
    if scenario == "import":
        return profile_imports(top)
    if scenario not in THROUGHPUT_SCENARIOS:
        raise SystemExit(f"--profile takes one of: {', '.join((*THROUGHPUT_SCENARIOS, 'import'))}")
    warmup, count = COUNTS[scenario]
    with Server() as server:
        run_worker({"scenario": scenario, "side": side, "url": server.url, "server_pid": server.pid,
                    "warmup": warmup, "count": count, "profile": True, "top": top, "clock": clock}, echo=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", metavar="SCENARIO",
                        help=f"profile one scenario: {', '.join((*THROUGHPUT_SCENARIOS, 'import'))}")
    parser.add_argument("--side", choices=SIDES, default="inferlink", help="the side --profile runs (inferlink)")
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile (25)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="--profile's timer: wall time (default) or this process's CPU time (leaves out time "
                             "descheduled or waiting for the server, but inflates functions called very often)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"fresh processes per side (default {ROUNDS})")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--only", metavar="SCENARIO,...",
                        help="measure only these throughput scenarios and print their ratios (no RESULTS.md)")
    args = parser.parse_args(argv)
    if args.profile:
        return profile(args.profile, args.side, args.top, args.clock)
    if args.only:
        return quick_run(args.only.split(","), args.rounds)
    return full_run(args.rounds, not args.no_write)


def quick_run(scenarios: list[str], rounds: int) -> int:
    unknown = set(scenarios) - set(THROUGHPUT_SCENARIOS)
    if unknown:
        raise SystemExit(f"--only takes some of: {', '.join(THROUGHPUT_SCENARIOS)}")
    with Server() as server:
        for scenario in scenarios:
            runs = measure_throughput(server, scenario, rounds)
            print(f"{scenario}: httpx {runs.median('httpx', 'rate'):,.0f}/s, inferlink "
                  f"{runs.median('inferlink', 'rate'):,.0f}/s, ratio {runs.ratio('rate'):.2f}x")
    return 0


assert set(COUNTS) == set(SCENARIOS) - {"import"} and set(ASYNC_SCENARIOS) <= set(THROUGHPUT_SCENARIOS)

if __name__ == "__main__":
    sys.exit(main())
