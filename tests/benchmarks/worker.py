"""One measurement in a fresh process: `python -m tests.benchmarks.worker '<json>'` (run.py starts it).

The JSON names the scenario, the side ("httpx": raw httpx doing the minimal equivalent work, or "inferlink"), the
server's URL and pid, and the counts. The worker pins itself to one CPU, builds its client, warms up, times a fixed
number of calls and prints `RESULT <json>` as its last line. With "profile": true the timed part runs under cProfile
and the top functions are printed instead.

Only the standard library is imported at the top, so that the import scenario times `import httpx` /
`import inferlink` from a clean interpreter.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable

if TYPE_CHECKING:
    import cProfile

CLIENT_CPU = 0
IN_FLIGHT = 64

SYNC_SCENARIOS = ("sync_chat", "sync_stream", "tgi_generate", "feature_extraction", "text_classification")
ASYNC_SCENARIOS = ("async_chat", "async_stream")
THROUGHPUT_SCENARIOS = SYNC_SCENARIOS[:2] + ASYNC_SCENARIOS + SYNC_SCENARIOS[2:]
MEMORY_SCENARIOS = ("memory_stream", "memory_calls")
SCENARIOS = (*THROUGHPUT_SCENARIOS, "import", *MEMORY_SCENARIOS)


def rss_kb() -> int:
    """The current resident set size (VmRSS), in kB."""
    with open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"VmRSS:"):
                return int(line.split()[1])
    return 0


def peak_rss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux


def cpu_seconds(pid: int) -> float:
    """The CPU seconds a process has used so far: the sum of its threads' /proc/<pid>/task/*/schedstat (nanosecond
    resolution), or user + system time from /proc/<pid>/stat (clock ticks, 10 ms) where schedstat is missing."""
    try:
        total = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as schedstat:
                total += int(schedstat.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Window:
    """Wall time, this process's CPU time and the server's CPU time over the timed part."""

    def __init__(self, server_pid: int, profiler: cProfile.Profile | None) -> None:
        self.server_pid = server_pid
        self.profiler = profiler
        self.result: dict[str, float] = {}

    def __enter__(self) -> Window:
        self._server = cpu_seconds(self.server_pid)
        self._cpu = time.process_time()
        if self.profiler is not None:
            self.profiler.enable()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall
        if self.profiler is not None:
            self.profiler.disable()
        self.result = {"wall": wall, "client_cpu": time.process_time() - self._cpu,
                       "server_cpu": cpu_seconds(self.server_pid) - self._server}


# ---- the scenarios: (warm-up, timed run) -> items done (calls or stream chunks) ----------------------------------

SyncRun = Callable[[int], int]
AsyncRun = Callable[[int], Awaitable[int]]


def _sync_runs(scenario: str, side: str, url: str) -> tuple[SyncRun, Callable[[], None]]:
    """The function doing n calls (or n streams) of a sync scenario, and the one closing its client."""
    import json

    from . import payloads as p

    if side == "httpx":
        import httpx

        client = httpx.Client()
        headers = {"content-type": "application/json"}
        if scenario == "sync_stream" or scenario == "memory_stream":
            path = p.CHAT_PATH if scenario == "sync_stream" else p.MEMORY_CHAT_PATH
            target = url + path

            def stream(n: int) -> int:
                items = 0
                for _ in range(n):
                    with client.stream("POST", target, content=p.STREAM_REQUEST, headers=headers) as response:
                        for line in response.iter_lines():
                            if line.startswith("data: "):
                                data = line[6:]
                                if data == "[DONE]":
                                    break
                                json.loads(data)
                                items += 1
                return items

            return stream, client.close
        path, body = {
            "sync_chat": (p.CHAT_PATH, p.CHAT_REQUEST),
            "memory_calls": (p.CHAT_PATH, p.CHAT_REQUEST),
            "tgi_generate": (p.TGI_PATH, p.TGI_REQUEST),
            "feature_extraction": (p.FEATURE_PATH, p.FEATURE_REQUEST),
            "text_classification": (p.CLASSIFY_PATH, p.CLASSIFY_REQUEST),
        }[scenario]
        target = url + path
        check = client.post(target, content=body, headers=headers)
        assert check.status_code == 200, (target, check.status_code)

        def calls(n: int) -> int:
            for _ in range(n):
                json.loads(client.post(target, content=body, headers=headers).content)
            return n

        return calls, client.close

    from inferlink import InferenceClient

    if scenario == "sync_stream" or scenario == "memory_stream":
        base = url + ("/v1" if scenario == "sync_stream" else "/m1000/v1")
        chat = InferenceClient(base_url=base, model=p.MODEL)

        def ilstream(n: int) -> int:
            items = 0
            for _ in range(n):
                for _chunk in chat.chat_completion(p.MESSAGES, max_tokens=64, stream=True):
                    items += 1
            return items

        return ilstream, chat.close
    if scenario == "sync_chat" or scenario == "memory_calls":
        client2 = InferenceClient(base_url=url + "/v1", model=p.MODEL)

        def ilchat(n: int) -> int:
            for _ in range(n):
                client2.chat_completion(p.MESSAGES, max_tokens=64)
            return n

        return ilchat, client2.close
    if scenario == "tgi_generate":
        tgi = InferenceClient(provider="tgi", base_url=url)

        def iltgi(n: int) -> int:
            for _ in range(n):
                tgi.text_generation(p.PROMPT, details=True, max_new_tokens=20)
            return n

        return iltgi, tgi.close
    if scenario == "feature_extraction":
        endpoint = InferenceClient(base_url=url + p.FEATURE_PATH)

        def ilfeature(n: int) -> int:
            for _ in range(n):
                endpoint.feature_extraction("Paris is the capital of France.")
            return n

        return ilfeature, endpoint.close
    if scenario == "text_classification":
        classifier = InferenceClient(base_url=url + p.CLASSIFY_PATH)

        def ilclassify(n: int) -> int:
            for _ in range(n):
                classifier.text_classification("I love this movie!")
            return n

        return ilclassify, classifier.close
    raise ValueError(f"not a sync scenario: {scenario}")


def _async_runs(scenario: str, side: str, url: str) -> tuple[AsyncRun, Callable[[], Awaitable[None]]]:
    """Inside a running event loop: the coroutine function doing n calls / n streams, and the client's closer."""
    import asyncio
    import json

    from . import payloads as p

    async def in_flight(one: Callable[[], Awaitable[object]], n: int) -> int:
        todo = iter(range(n))

        async def lane() -> None:
            for _ in todo:
                await one()

        await asyncio.gather(*(lane() for _ in range(min(IN_FLIGHT, n))))
        return n

    if side == "httpx":
        import httpx

        client = httpx.AsyncClient()
        headers = {"content-type": "application/json"}
        if scenario == "async_stream":
            target = url + p.CHAT_PATH

            async def stream(n: int) -> int:
                items = 0
                for _ in range(n):
                    async with client.stream("POST", target, content=p.STREAM_REQUEST, headers=headers) as response:
                        async for line in response.aiter_lines():
                            if line.startswith("data: "):
                                data = line[6:]
                                if data == "[DONE]":
                                    break
                                json.loads(data)
                                items += 1
                return items

            return stream, client.aclose
        chat_url = url + p.CHAT_PATH

        async def one() -> object:
            return json.loads((await client.post(chat_url, content=p.CHAT_REQUEST, headers=headers)).content)

        async def chat(n: int) -> int:
            return await in_flight(one, n)

        return chat, client.aclose

    from inferlink import AsyncInferenceClient

    ilclient = AsyncInferenceClient(base_url=url + "/v1", model=p.MODEL)
    if scenario == "async_stream":
        async def ilstream(n: int) -> int:
            items = 0
            for _ in range(n):
                async for _chunk in await ilclient.chat_completion(p.MESSAGES, max_tokens=64, stream=True):
                    items += 1
            return items

        return ilstream, ilclient.close

    async def ilone() -> object:
        return await ilclient.chat_completion(p.MESSAGES, max_tokens=64)

    async def ilchat(n: int) -> int:
        return await in_flight(ilone, n)

    return ilchat, ilclient.close


def _profiler(job: dict[str, Any]) -> cProfile.Profile | None:
    """cProfile on the wall clock (the default: cheap to read, so the profiler's own overhead stays small), or on
    this process's CPU clock ("cpu": leaves out time descheduled or blocked in recv(), but each reading is a system
    call, which inflates functions called very often)."""
    if not job.get("profile"):
        return None
    import cProfile

    return cProfile.Profile(time.process_time) if job.get("clock") == "cpu" else cProfile.Profile()


def throughput(job: dict[str, Any]) -> dict[str, Any]:
    scenario, side, url, pid = job["scenario"], job["side"], job["url"], job["server_pid"]
    warmup, count = int(job["warmup"]), int(job["count"])
    profiler = _profiler(job)
    window = Window(pid, profiler)
    if scenario in ASYNC_SCENARIOS:
        import asyncio

        async def main() -> int:
            run, close = _async_runs(scenario, side, url)
            await run(warmup)
            with window:
                items = await run(count)
            await close()
            return items

        items = asyncio.run(main())
    else:
        run, close = _sync_runs(scenario, side, url)
        run(warmup)
        with window:
            items = run(count)
        close()
    if scenario.endswith("stream"):
        from .payloads import STREAM_CHUNKS, stream_events

        assert items == count * stream_events(STREAM_CHUNKS), (items, count)
    m = window.result
    return {"items": items, "requests": count, "rate": items / m["wall"], **m, "profiler": profiler}


def import_cost(job: dict[str, Any]) -> dict[str, Any]:
    """Time `import` + constructing a client (from a fresh interpreter), then the RSS and module count."""
    before_modules = len(sys.modules)
    start = time.perf_counter()
    if job["side"] == "httpx":
        import httpx

        client: Any = httpx.Client()
    else:
        import inferlink

        client = inferlink.InferenceClient(base_url=job["url"] + "/v1", model="org/model")
    elapsed = time.perf_counter() - start
    rss = rss_kb()
    modules = len(sys.modules) - before_modules
    client.close()
    return {"import_ms": elapsed * 1000, "rss_mb": rss / 1024, "modules": modules}


def memory(job: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS over a 1,000-chunk stream (repeated) or over 10,000 sequential calls, and how much RSS grew."""
    run, close = _sync_runs(job["scenario"], job["side"], job["url"])
    count, warmup = int(job["count"]), int(job["warmup"])
    run(warmup)
    before = rss_kb()
    if job["scenario"] == "memory_stream":
        first = run(1)
        assert first > 1000, first
        after_first = rss_kb()
        run(count - 1)
        middle = after_first
    else:
        run(count // 10)
        middle = rss_kb()
        run(count - count // 10)
    after = rss_kb()
    close()
    return {"peak_mb": peak_rss_kb() / 1024, "before_mb": before / 1024, "middle_mb": middle / 1024,
            "after_mb": after / 1024, "growth_mb": (after - before) / 1024}


def print_profile(profiler: cProfile.Profile, top: int) -> None:
    import pstats

    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs()
    for key, title in (("cumulative", "cumulative time"), ("tottime", "total (own) time")):
        print(f"\n=== top {top} by {title} ===")
        stats.sort_stats(key).print_stats(top)


def main(argv: list[str]) -> int:
    import json

    job: dict[str, Any] = json.loads(argv[0])
    if hasattr(os, "sched_setaffinity") and job.get("pin", True):
        os.sched_setaffinity(0, {CLIENT_CPU})
    scenario = job["scenario"]
    if scenario == "import":
        result = import_cost(job)
    elif scenario in MEMORY_SCENARIOS:
        result = memory(job)
    elif scenario in THROUGHPUT_SCENARIOS:
        result = throughput(job)
        profiler = result.pop("profiler")
        if profiler is not None:
            unit = "chunks" if scenario.endswith("stream") else "calls"
            print(f"{scenario} ({job['side']}): {result['items']} {unit} in {result['wall']:.3f} s under cProfile "
                  f"({result['rate']:,.0f} {unit}/s with profiling overhead; client CPU {result['client_cpu']:.3f} s; "
                  f"profile clock: {job.get('clock', 'wall')})")
            print_profile(profiler, int(job.get("top", 25)))
    else:
        raise SystemExit(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
