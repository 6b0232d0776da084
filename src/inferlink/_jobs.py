"""Jobs that outlive the request that starts them. Some providers answer a submission with a job to poll (fal-ai's
queue, replicate's predictions, together's videos, wavespeed's tasks, z.ai's async results), and media results come
back as the URL of a file to download. The flows are data (specs/flows.json); `run` follows one without doing any
I/O: it yields each GET and each pause it needs and is sent the bodies, so the sync and async clients share it, and
the async client pauses with asyncio.sleep."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generator, Mapping
from urllib.parse import urlsplit, urlunsplit

from ._dialects import found, formatted, get_path
from ._inputs import from_data_url
from ._transport import Deadline, asend, send, within
from .errors import HTTPError, InferenceError, InferenceTimeoutError, InvalidInputError, JobFailedError, ResponseError

if TYPE_CHECKING:
    import httpx

    from ._routing import Route

# Added to an error raised once a job was submitted: provider="auto" must not submit the same work elsewhere.
SUBMITTED = "inferlink: raised after the provider accepted the job, so it was not resubmitted to another provider"
_MARGIN = 0.05  # the last poll starts this long before the deadline, not after it


@dataclass(frozen=True, slots=True)
class Fetch:
    """GET `url`. `authorized`: the URL is on the call's own host, so it gets the call's headers (its token); other
    hosts (result CDNs, or anywhere else an answer points) get none. `job`: the fetch of that job's result, where an error status means it failed."""

    url: str
    authorized: bool
    what: str
    note: str
    job: str | None = None  # set on the fetch of a finished job's result


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float
    note: str


Steps = Generator["Fetch | Pause", bytes, "tuple[Any, bytes | None]"]


def _shown(doc: Any) -> str:
    text = json.dumps(doc, ensure_ascii=False)
    return text if len(text) <= 300 else text[:297] + "..."


def _document(content: bytes, where: str, what: str) -> Any:
    try:
        return json.loads(content)
    except ValueError as error:
        shown = content[:300].decode("utf-8", "replace")
        raise ResponseError(f"{where}: the {what} is not JSON ({error}); it began with: {shown!r}",
                            body=content) from None


def _message(value: Any) -> str | None:
    if not found(value):
        return None
    if isinstance(value, dict):  # an error object whose fields are all empty is no error
        if not any(value.values()):
            return None
        value = value.get("message") or value.get("detail") or value.get("msg") or json.dumps(value)
    if isinstance(value, list):
        value = "; ".join(str(item) for item in value if item)
    return str(value) if value else None


def _url(route: Route, spec: Mapping[str, Any], doc: Any, where: str) -> str:
    """A URL of the job's API: the one the provider gave (`from`), or a template under the call's root (`path`).
    Through the Hugging Face router, a URL the provider gave keeps only its path, put under the router's root, so
    that the job stays on the router (and the router's token never meets the provider's host)."""
    if "from" in spec:
        given = get_path(doc, spec["from"])
        parts = urlsplit(given) if isinstance(given, str) and given else None
        if parts is not None and parts.path and not route.hf_hosted:
            return urlunsplit(parts._replace(path=parts.path + spec.get("suffix", "")))
        path = parts.path if parts is not None else None
    else:
        template = formatted(spec["path"], doc)
        path = template if isinstance(template, str) else None
    if not path:
        raise ResponseError(f"{where}: {route.provider}'s answer does not say where to follow the job "
                            f"({spec.get('from') or spec.get('path')}); it was: {_shown(doc)}")
    query = urlsplit(route.url).query
    return f"{route.root.rstrip('/')}{path}{spec.get('suffix', '')}{'?' + query if query else ''}"


def _same_origin(url: str, root: str) -> bool:
    a, b = urlsplit(url), urlsplit(root)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def _poll(route: Route, flow: Mapping[str, Any], doc: Any, where: str, interval: float | None) -> Steps:
    job_id = get_path(doc, flow["id"])
    if not found(job_id):
        raise ResponseError(f"{where}: {route.provider} accepted the request but its answer has no job id "
                            f"({flow['id']}): {_shown(doc)}")
    job = f"{route.provider} job {str(job_id)!r}"
    first = doc  # the URLs to follow come from the first answer, and only when they are needed
    status_url: str | None = None
    every = flow["every"] if interval is None else interval
    while True:
        status = get_path(doc, flow["status"])
        failure = _message(get_path(doc, flow["error"])) if "error" in flow else None
        if status in flow["failed"] or failure:
            raise JobFailedError(f"{where}: {job} failed ({status}): {failure or 'no reason given'}",
                                 provider=route.provider, job_id=str(job_id), status=str(status),
                                 provider_message=failure, payload=doc)
        if status in flow["done"]:
            break
        if not found(status):
            raise ResponseError(f"{where}: {job}'s status is missing ({flow['status']}): {_shown(doc)}")
        status_url = status_url or _url(route, flow["poll"], first, where)
        note = f"{job} was still {status} (status URL: {status_url.split('?')[0]})"
        yield Pause(every, note)
        doc = _document((yield Fetch(status_url, _same_origin(status_url, route.root), "job status", note)), where,
                        f"status of {job}")
    if "result" not in flow:
        return doc, None
    result_url = _url(route, flow["result"], first, where)
    note = f"{job} had finished; its result was being fetched from {result_url.split('?')[0]}"
    fetch = Fetch(result_url, _same_origin(result_url, route.root), "job result", note, job=str(job_id))
    return _document((yield fetch), where, f"result of {job}"), None


def run(route: Route, flow: Mapping[str, Any] | None, download: Any, first: bytes, where: str,
        interval: float | None) -> Steps:
    """Follow the job that the provider's answer `first` starts. Returns the provider's last JSON document and,
    when the dialect says where the result's URL is (`download`), the downloaded result."""
    doc = _document(first, where, "provider's answer")
    if flow is not None:
        doc, _ = yield from _poll(route, flow, doc, where, interval)
    if download is None:
        return doc, None
    url = get_path(doc, download)
    if not isinstance(url, str) or not url:
        raise ResponseError(f"{where}: {route.provider}'s answer has no result URL ({download}): {_shown(doc)}")
    if url.startswith("data:"):  # the result inline (fal-ai's sync_mode)
        try:
            return doc, from_data_url(url).data
        except InvalidInputError as error:
            raise ResponseError(f"{where}: {route.provider}'s result is a broken data URL: {error}") from None
    note = f"the result was being downloaded from {url.split('?')[0]}"
    return doc, (yield Fetch(url, _same_origin(url, route.root), "result download", note))


def _request(http: httpx.Client | httpx.AsyncClient, step: Fetch, headers: Mapping[str, str]) -> httpx.Request:
    return http.build_request("GET", step.url, headers=headers if step.authorized else {})


def _advance(steps: Steps, reply: bytes | None) -> tuple[Fetch | Pause | None, Any]:
    """The flow's next step, or (None, what it returned)."""
    try:
        return steps.send(reply), None  # type: ignore[arg-type]  # None starts the generator
    except StopIteration as done:
        return None, done.value


def _wait(step: Pause, deadline: Deadline) -> float:
    """How long to pause: the flow's pace, but the next poll starts before the deadline (and if too little is left
    for one, the pause ends at the deadline, where the next request times out)."""
    left = deadline.remaining()
    if left is None:
        return step.seconds
    return min(step.seconds, left - _MARGIN) if left > _MARGIN else max(left, 0.0)


def _failed(error: HTTPError, where: str, provider: str | None, job: str) -> JobFailedError:
    message = error.server_message or f"HTTP {error.status_code}"
    return JobFailedError(f"{where}: {provider} job {job!r} failed (its result is HTTP {error.status_code}): {message}",
                          provider=provider, job_id=job, status=str(error.status_code),
                          provider_message=error.server_message)


def _submitted(error: InferenceError, note: str, where: str) -> InferenceError:
    if isinstance(error, InferenceTimeoutError) and note:
        error = InferenceTimeoutError(f"{error}; {note}")
    elif note:
        error.add_note(f"{where}: {note}")
    error.add_note(SUBMITTED)
    return error


def drive(http: httpx.Client, steps: Steps, route: Route, headers: Mapping[str, str], deadline: Deadline,
          where: str, max_retries: int) -> tuple[Any, bytes | None]:
    """Run a flow with the sync client's connections (time.sleep between polls)."""
    reply: bytes | None = None
    note = ""
    try:
        while True:
            step, result = _advance(steps, reply)
            if step is None:
                return result  # type: ignore[no-any-return]
            note = step.note
            if isinstance(step, Pause):
                time.sleep(_wait(step, deadline))
                reply = b""
                continue
            try:
                reply = send(http, _request(http, step, headers), deadline, f"{where} {step.what}", max_retries,
                             stream=False)[1]
            except HTTPError as error:
                if step.job is None:
                    raise
                raise _failed(error, where, route.provider, step.job) from error
    except InferenceError as error:
        raise _submitted(error, note, where) from error.__cause__


async def adrive(http: httpx.AsyncClient, steps: Steps, route: Route, headers: Mapping[str, str],
                 deadline: Deadline, where: str, max_retries: int) -> tuple[Any, bytes | None]:
    """Run a flow with the async client's connections (asyncio.sleep between polls: the loop runs on)."""
    import asyncio

    reply: bytes | None = None
    note = ""
    try:
        async with within(deadline, where):
            while True:
                step, result = _advance(steps, reply)
                if step is None:
                    return result  # type: ignore[no-any-return]
                note = step.note
                if isinstance(step, Pause):
                    await asyncio.sleep(_wait(step, deadline))
                    reply = b""
                    continue
                try:
                    reply = (await asend(http, _request(http, step, headers), deadline, f"{where} {step.what}",
                                         max_retries, stream=False))[1]
                except HTTPError as error:
                    if step.job is None:
                        raise
                    raise _failed(error, where, route.provider, step.job) from error
    except InferenceError as error:
        raise _submitted(error, note, where) from error.__cause__
