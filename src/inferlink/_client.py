"""The client base: configuration, lifecycle, and the way of one call (plan -> inputs -> send -> parse). The public
InferenceClient and AsyncInferenceClient are generated subclasses that add one method per task."""

from __future__ import annotations

import json
import logging
import platform
import socket
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Mapping, TypeVar

import httpx

from . import _inputs, _mapping, _request, _response, _routing
from ._stream import DONE, AsyncStream, Stream
from ._retry import DEFAULT_MAX_RETRIES
from ._deadline_socket import DeadlineBackend
from ._pool import async_transport
from ._transport import Deadline, asend, send, within
from ._version import VERSION
from .errors import (
    ClientClosedError,
    HTTPError,
    InferenceConnectionError,
    InferenceError,
    InferenceTimeoutError,
    InvalidInputError,
    ProvidersFailedError,
    RateLimitError,
    ResponseError,
    ServerError,
)

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from ._jobs import Steps
    from ._sse import Event
    from ._task import TaskSpec, Variant

logger = logging.getLogger("inferlink")
FAILOVER = (InferenceConnectionError, RateLimitError, ServerError)  # what makes provider="auto" try the next one
USER_AGENT = f"inferlink/{VERSION} python/{platform.python_version()} httpx/{httpx.__version__}"
H = TypeVar("H", httpx.Client, httpx.AsyncClient)
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
# httpx writes a request's headers and body separately: without TCP_NODELAY, Nagle's algorithm holds the body until
# the server acknowledges the headers, which a delayed ACK postpones by up to 40 ms per call.
SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
_UNREAD: Any = object()


@dataclass(slots=True)
class _Call:
    """One planned call: everything decided, nothing sent."""

    task: TaskSpec
    variant: Variant
    route: _routing.Route
    body: dict[str, Any]
    ready: bytes | None  # the serialized body, when nothing is left to fill in
    media: dict[str, Any]  # request path -> binary input as the caller gave it
    headers: dict[str, str]
    deadline: Deadline
    extra_body: Mapping[str, Any] | None
    where: str
    max_retries: int
    parse_into: Any = None  # the pydantic model a structured-output reply is validated into


def _after_submission(error: BaseException) -> bool:
    """Whether a provider had accepted the job when the error came (then provider="auto" must not resubmit it)."""
    notes = getattr(error, "__notes__", ())
    if not notes:
        return False
    from ._jobs import SUBMITTED

    return SUBMITTED in notes


def _check_seconds(where: str, name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
        raise InvalidInputError(f"{where}(): {name} must be a positive number of seconds or None, got {value!r}")


def _check_call_settings(where: str, model: object, timeout: object, headers: object, max_retries: object) -> None:
    if model is not None and not isinstance(model, str):
        raise InvalidInputError(f"{where}(): model must be a Hub id or a URL (str), got {type(model).__name__}")
    _check_seconds(where, "timeout", timeout)
    if headers is not None and not (isinstance(headers, Mapping)
                                    and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())):
        raise InvalidInputError(f"{where}(): headers must be a mapping of str to str")
    if max_retries is not None and (isinstance(max_retries, bool) or not isinstance(max_retries, int)
                                    or max_retries < 0):
        raise InvalidInputError(f"{where}(): max_retries must be an int >= 0, got {max_retries!r}")


class _ClientCore(ABC, Generic[H]):
    _providers: ClassVar[Mapping[str, Any]] = {}  # set by the generated subclass
    _dialects: ClassVar[Mapping[str, Any]] = {}
    _flows: ClassVar[Mapping[str, Any]] = {}

    def __init__(
        self,
        model: str | None = None,
        *,
        provider: str | None = None,
        token: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        bill_to: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        stream_idle_timeout: float | None = None,
        phase_timeouts: httpx.Timeout | None = None,
        provider_mapping: Mapping[str, Mapping[str, str]] | None = None,
        poll_interval: float | None = None,
        http_client: H | None = None,
    ) -> None:
        name = type(self).__name__
        _check_call_settings(name, model, timeout, headers, max_retries)
        _check_seconds(name, "stream_idle_timeout", stream_idle_timeout)
        _check_seconds(name, "poll_interval", poll_interval)
        if phase_timeouts is not None and not isinstance(phase_timeouts, httpx.Timeout):
            raise InvalidInputError(f"{name}(): phase_timeouts must be an httpx.Timeout")
        if token is not None and api_key is not None:
            raise InvalidInputError(f"{name}(): token and api_key are the same setting; give one")
        if base_url is not None and _routing.is_url(model):
            raise InvalidInputError(f"{name}(): model is a URL and base_url is set; give one")
        if base_url is not None and not _routing.is_url(base_url):
            raise InvalidInputError(f"{name}(): base_url must start with http:// or https://, got {base_url!r}")
        if provider is not None and provider not in self._providers:
            known = ", ".join(sorted(self._providers))
            raise InvalidInputError(f"{name}(): unknown provider {provider!r}; known providers: {known}")
        secret = token if token is not None else api_key
        if secret is not None and (not isinstance(secret, str) or not secret.strip()):
            raise InvalidInputError(f"{name}(): token must be a non-empty string")
        self.model = model
        self.provider = provider
        self.base_url = base_url
        self.timeout = timeout
        self.headers: dict[str, str] = dict(headers or {})
        self.bill_to = bill_to
        self.max_retries = max_retries
        self.stream_idle_timeout = stream_idle_timeout
        self.phase_timeouts = phase_timeouts
        self.poll_interval = poll_interval
        self._token = secret
        self._implicit_token: str | None = _UNREAD
        self._routes: dict[tuple[Any, ...], _routing.Route] = {}  # resolve() is pure: one answer per call shape
        self._user_mapping = _mapping.user_mapping(provider_mapping)
        self._hub_mapping = _mapping.Cache()
        self._urls: dict[str, httpx.URL] = {}
        self._own_http = http_client is None
        self._http: H = http_client if http_client is not None else self._new_http()
        self._closed = False

    @abstractmethod
    def _new_http(self) -> H:
        """The client's own connection pool, when the caller brought none."""

    def __repr__(self) -> str:
        shown = {"model": self.model, "provider": self.provider, "base_url": self.base_url, "timeout": self.timeout}
        args = ", ".join(f"{k}={v!r}" for k, v in shown.items() if v is not None)
        return f"<{type(self).__name__}({args})>"

    def _implicit(self) -> str | None:
        if self._implicit_token is _UNREAD:
            self._implicit_token = _routing.implicit_token()
        return self._implicit_token

    def _hf_token(self) -> str | None:
        """The Hugging Face token calls may use: the caller's when it is one, else the environment's or login's."""
        if self._token is not None:
            return self._token if self._token.startswith("hf_") else None
        return self._implicit()

    def _auth(self, route: _routing.Route) -> dict[str, str]:
        token = self._token
        if token is None and route.hf_hosted:
            token = self._implicit()
        headers = dict(route.headers)
        if token:
            scheme = "Key" if route.auth == "key" and not route.hf_hosted else "Bearer"  # the router takes Bearer
            headers["authorization"] = f"{scheme} {token}"
        if self.bill_to and route.hf_hosted:
            headers["x-hf-bill-to"] = self.bill_to
        return headers

    def _needs_mapping(self, provider: str | None, model: str | None) -> tuple[str, str] | None:
        """(provider, Hub model id) when the call's model must be mapped to the provider's own id."""
        table = self._providers.get(provider or "")
        model_id = model or self.model
        if table is None or table.get("model_ids") != "hub" or model_id is None or _routing.is_url(model_id):
            return None
        return str(provider), model_id

    def _auto_model(self, task: TaskSpec, model: str | None) -> str | None:
        """The Hub id whose providers "auto" chooses among, when this call needs choosing (chat does not)."""
        if self.provider != "auto" or task.task in self._providers["auto"]["routes"]:
            return None
        model_id = model or self.model
        if model_id is None or _routing.is_url(model_id):
            raise InvalidInputError(f"{task.method}(): provider='auto' needs a Hub model id; pass model='org/name'")
        return model_id

    def _candidates(self, task: TaskSpec, model_id: str, entries: list[_mapping.Entry]) -> list[_mapping.Entry]:
        """The mapping entries to try in turn: the caller's own first, then the Hub's live ones, of providers this
        client serves for the task (one per provider)."""
        pinned = [_mapping.Entry(p, i, "live", "") for p, i in self._user_mapping.get(model_id, {}).items()]
        hub_task = _mapping.HUB_TASKS.get(task.task, task.task)
        usable: dict[str, _mapping.Entry] = {}
        for e in pinned + [e for e in entries if e.status == "live" and e.task in ("", hub_task)]:
            if e.provider != "auto" and e.provider in self._providers and e.provider not in usable \
                    and {task.task, "*"} & set(self._providers[e.provider]["routes"]):
                usable[e.provider] = e
        logger.debug("%s: provider='auto' candidates for %r: %s", task.method, model_id,
                     [(e.provider, e.provider_id) for e in usable.values()])
        if not usable:
            raise InvalidInputError(f"{task.method}(): no provider this client knows serves {model_id!r} for "
                                    f"{task.task!r} (the Hub lists: {', '.join(e.provider for e in entries) or 'none'})")
        return list(usable.values())

    def _entries(self, model_id: str) -> tuple[list[_mapping.Entry] | None, httpx.Request]:
        """The cached Hub mapping of a model, and the request that fetches it."""
        token = self._hf_token()
        request = self._http.build_request("GET", _mapping.hub(f"api/models/{model_id}"), params=_mapping.HUB_PARAMS,
                                           headers={"authorization": f"Bearer {token}"} if token else {})
        return self._hub_mapping.get((token, model_id)), request

    def _known_entries(self, model_id: str) -> tuple[list[_mapping.Entry] | None, httpx.Request]:
        """As _entries, but a model the caller's own mapping names needs no Hub lookup (offline, pinned use)."""
        entries, request = self._entries(model_id)
        return ([] if self._user_mapping.get(model_id) else entries), request

    def _failed_over(self, task: TaskSpec, failures: list[tuple[str, InferenceError]]) -> InferenceError:
        tried = "; ".join(f"{provider}: {error}" for provider, error in failures)
        return ProvidersFailedError(f"{task.method}(): every provider failed ({tried})", failures=failures)

    def _mapped(self, need: tuple[str, str], task: TaskSpec) -> tuple[_mapping.Entry | None, httpx.Request | None]:
        """The provider's entry from the caller's table or the cache, else the Hub request that will tell."""
        provider, model_id = need
        pinned = self._user_mapping.get(model_id, {}).get(provider)
        if pinned:
            return _mapping.Entry(provider, pinned, "live", ""), None
        entries, request = self._entries(model_id)
        if entries is not None:
            return _mapping.choose(entries, provider, model_id, task.task, task.method), None
        return None, request

    @staticmethod
    def _left(call: _Call) -> Deadline:
        """The call's deadline, for the rest of the call (which it bounds as a whole)."""
        left = call.deadline.remaining()
        if left is not None and left <= 0:
            raise call.deadline.expired(call.where)
        return call.deadline

    def _remember(self, model_id: str, body: bytes) -> list[_mapping.Entry]:
        entries = _mapping.parse(body, model_id)
        self._hub_mapping.put((self._hf_token(), model_id), entries)
        return entries

    def _plan(self, task: TaskSpec, values: Mapping[str, Any], *, model: str | None,
              extra_body: Mapping[str, Any] | None, headers: Mapping[str, str] | None,
              timeout: float | Deadline | None, max_retries: int | None, flags: Mapping[str, Any],
              provider: str | None, target: _mapping.Entry | None = None) -> _Call:
        if self._closed:
            raise ClientClosedError(f"{task.method}(): this client is closed; create a new one")
        where = f"{task.method}()"
        variant = task.variant(flags)
        if variant.decode == "image":
            _response.require_pillow(task.method)
        if extra_body is not None and not isinstance(extra_body, Mapping):
            raise InvalidInputError(f"{where}: extra_body must be a mapping, got {type(extra_body).__name__}")
        if isinstance(timeout, Deadline):  # the rest of a call that began earlier
            deadline = timeout
        else:
            _check_call_settings(task.method, model, timeout, headers, max_retries)
            deadline = Deadline(self.timeout if timeout is None else timeout, self.phase_timeouts)
        via_router = self._hf_token() is not None
        provider_id = target.provider_id if target else None
        adapter = target.adapter(model or self.model or "") if target else None
        key = (task.task, provider, self.model, model, self.base_url, variant.stream, provider_id, adapter,
               via_router)
        route = self._routes.get(key)
        if route is None:
            if len(self._routes) >= 256:
                self._routes.clear()
                self._urls.clear()
            route = self._routes[key] = _routing.resolve(
                self._providers, provider=provider, client_model=self.model, call_model=model,
                base_url=self.base_url, task=task.task, method=task.method, stream=variant.stream,
                provider_id=provider_id, adapter=adapter, via_router=via_router)
        parse_into = None
        if variant.structured and _request.is_model_class(values.get(variant.structured[1])):
            parse_into = values[variant.structured[1]]
            values = {**values, variant.structured[1]: _request.json_schema_format(parse_into, route.json_schema)}
        body = _request.shape(route, _request.build_body(values))
        ready = _request.validate(task, body)
        _request.check_dialect(task, route, body, self._dialects)
        media = {path: value for path in task.media if (value := _request.get(body, path)) is not None}
        all_headers = {**self._auth(route), **self.headers, **(headers or {})}
        if route.serverless and not route.hf_hosted and (self._token or "").startswith("hf_") \
                and not self._providers[str(route.provider)].get("router"):
            raise InvalidInputError(f"{where}: {route.provider} cannot be reached through Hugging Face, so a "
                                    f"Hugging Face token is of no use there (and is not sent); pass its own key")
        if route.serverless and not any(k.lower() == "authorization" for k in all_headers):
            raise InvalidInputError(f"{where}: {route.provider} needs a token: a Hugging Face token (the call goes "
                                    f"through the Hugging Face router) or {route.provider}'s own key (sent to it "
                                    f"directly); pass token=... or set HF_TOKEN")
        return _Call(task, variant, route, body, ready, media, all_headers,
                     deadline, extra_body, where,
                     self.max_retries if max_retries is None else max_retries, parse_into)

    def _build(self, call: _Call, media: Mapping[str, _inputs.Media | str]) -> httpx.Request:
        content, content_type = _request.encode(call.task, call.route, call.body, media, call.extra_body,
                                                self._dialects, call.ready)
        headers = {"content-type": content_type, **call.headers}
        if call.variant.stream:
            headers.setdefault("accept", "text/event-stream")
        if call.route.prefer_wait:  # answer in time for the job id to reach us before the call's deadline
            left = call.deadline.remaining()
            wait = call.route.prefer_wait if left is None else max(1, min(call.route.prefer_wait, int(left - 0.5)))
            headers["prefer"] = f"wait={wait}"
        url = self._urls.get(call.route.url)
        if url is None:  # parsing a URL costs more than the rest of building the request
            url = self._urls[call.route.url] = httpx.URL(call.route.url)
        return self._http.build_request("POST", url, content=content, headers=headers)

    def _job(self, call: _Call, content: bytes) -> Steps | None:
        """The flow that follows the provider's answer: polling a job, downloading the result; None: the answer
        is the result."""
        flow = self._flows[call.route.flow] if call.route.flow else None
        download = self._dialects.get(call.route.dialect, {}).get("download")
        if flow is None and download is None:
            return None
        from . import _jobs  # here: most calls never need it, and imports cost every user time

        return _jobs.run(call.route, flow, download, content, call.where, self.poll_interval)

    def _job_result(self, call: _Call, done: tuple[Any, bytes | None]) -> Any:
        return _response.parse_document(call.task, call.variant, call.route, self._dialects, *done)

    def _passed_on(self, call: _Call, value: Any) -> bool:
        """A URL input that the provider fetches itself: not downloaded here."""
        return _inputs.is_remote(value) and _request.takes_urls(call.route, self._dialects)

    def _result(self, call: _Call, content: bytes) -> Any:
        result = _response.parse(call.task, call.variant, call.route, self._dialects, content)
        if call.parse_into is not None:
            return _response.parse_structured(call.task, call.variant, result, call.parse_into, content)
        return result

    def _decoder(self, call: _Call) -> Any:
        task, variant, route, dialects = call.task, call.variant, call.route, self._dialects
        # The common case (an OpenAI or TGI event, returned whole) parses each event's bytes once, straight into
        # the chunk model; everything else goes through _response.parse_chunk.
        direct = task.adapter("STREAM_TYPE").validate_json \
            if route.dialect in ("hf", "openai-chat") and not variant.pick else None

        def decode(event: Event) -> Any:
            data = event.data
            if not data or data.isspace():
                return None
            if data[:1] == b"[" and data.strip() == b"[DONE]":
                return DONE
            if event.event == "error" or b'"error"' in data:
                error = _response.stream_error(data, event.event)
                if error is not None:
                    raise error
            if direct is not None:
                try:
                    return direct(data)
                except ValueError:
                    pass  # let parse_chunk say what is wrong
            return _response.parse_chunk(task, variant, route, dialects, data)

        return decode

    def _service(self, kind: str, model: str | None, timeout: float | None,
                 method: str) -> tuple[httpx.Request, Deadline]:
        if self._closed:
            raise ClientClosedError(f"{method}(): this client is closed; create a new one")
        _check_call_settings(method, model, timeout, None, None)
        url = _routing.service_url(self._providers, provider=self.provider, client_model=self.model,
                                   call_model=model, base_url=self.base_url, kind=kind, method=method)
        route = _routing.Route(self.provider, url, "hf", _routing.is_hf_host(url), None)
        request = self._http.build_request("GET", url, headers={**self._auth(route), **self.headers})
        return request, Deadline(self.timeout if timeout is None else timeout, self.phase_timeouts)

    @staticmethod
    def _info(content: bytes) -> dict[str, Any]:
        try:
            info = json.loads(content)
        except ValueError:
            info = None
        if not isinstance(info, dict):
            raise ResponseError("get_endpoint_info(): the server's /info is not a JSON object", body=content)
        return info

    def _download(self, url: str, call: _Call) -> httpx.Request:
        return self._http.build_request("GET", url)

    def _stream_from(self, response: httpx.Response, call: _Call) -> httpx.Response:
        """Past the headers, each wait for the next bytes is bounded by the idle timeout, not the call's."""
        idle = self.stream_idle_timeout if self.stream_idle_timeout is not None else call.deadline.seconds
        call.deadline.limit_reads(response.request, idle)
        return response


class SyncClientBase(_ClientCore[httpx.Client]):
    def _new_http(self) -> httpx.Client:
        transport = httpx.HTTPTransport(limits=LIMITS, socket_options=SOCKET_OPTIONS)
        transport._pool._network_backend = DeadlineBackend()  # the whole-call deadline, on every socket operation
        return httpx.Client(headers={"user-agent": USER_AGENT}, timeout=None, follow_redirects=True,
                            transport=transport)

    def close(self) -> None:
        """Close the connection pool (a client given as http_client stays open: it is the caller's)."""
        if self._own_http and not self._closed:
            self._http.close()
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def get_endpoint_info(self, *, model: str | None = None, timeout: float | None = None) -> dict[str, Any]:
        """What the server says about itself (`GET /info`: TGI's model id, limits, version, ...)."""
        request, deadline = self._service("info", model, timeout, "get_endpoint_info")
        return self._info(send(self._http, request, deadline, "get_endpoint_info()", self.max_retries, False)[1])

    def health_check(self, model: str | None = None, *, timeout: float | None = None) -> bool:
        """Whether the server answers its health route with a success status (no retries)."""
        request, deadline = self._service("health", model, timeout, "health_check")
        try:
            send(self._http, request, deadline, "health_check()", 0, False)
        except (HTTPError, InferenceConnectionError, InferenceTimeoutError):
            return False
        return True

    def _load(self, value: Any, call: _Call) -> _inputs.Media:
        if not _inputs.is_remote(value):
            return _inputs.read_local(value)
        response, data = send(self._http, self._download(value, call), call.deadline,
                              f"{call.where} input download", call.max_retries, stream=False)
        return _inputs.from_download(data, response.headers.get("content-type"), value)

    def _call(self, task: TaskSpec, values: Mapping[str, Any], *, model: str | None,
              extra_body: Mapping[str, Any] | None, headers: Mapping[str, str] | None, timeout: float | None,
              max_retries: int | None, flags: Mapping[str, Any]) -> Any:
        options: dict[str, Any] = {"model": model, "extra_body": extra_body, "headers": headers,
                                   "max_retries": max_retries, "flags": flags}
        model_id = self._auto_model(task, model)
        if model_id is None:
            return self._call_on(self.provider, task, values, timeout=timeout, **options)
        probe = self._plan(task, values, timeout=timeout, provider="hf-inference", **options)  # checks, sends nothing
        entries, lookup = self._known_entries(model_id)
        if entries is None:
            body = send(self._http, lookup, probe.deadline, f"{probe.where} model mapping", probe.max_retries,
                        stream=False)[1]
            entries = self._remember(model_id, body)
        failures: list[tuple[str, InferenceError]] = []
        for target in self._candidates(task, model_id, entries):
            try:
                return self._call_on(target.provider, task, values, timeout=self._left(probe), target=target,
                                     **options)
            except FAILOVER as error:
                if _after_submission(error):
                    raise
                logger.debug("%s: provider %s failed (%s); trying the next one", probe.where, target.provider, error)
                failures.append((target.provider, error))
        raise self._failed_over(task, failures)

    def _call_on(self, provider: str | None, task: TaskSpec, values: Mapping[str, Any], *, model: str | None,
                 extra_body: Mapping[str, Any] | None, headers: Mapping[str, str] | None,
                 timeout: float | Deadline | None, max_retries: int | None, flags: Mapping[str, Any],
                 target: _mapping.Entry | None = None) -> Any:
        options: dict[str, Any] = {"model": model, "extra_body": extra_body, "headers": headers,
                                   "max_retries": max_retries, "flags": flags, "provider": provider}
        call = self._plan(task, values, timeout=timeout, target=target, **options)  # checks everything
        need = None if target else self._needs_mapping(provider, model)
        if need is not None:
            target, lookup = self._mapped(need, task)
            if lookup is not None:
                body = send(self._http, lookup, call.deadline, f"{call.where} model mapping", call.max_retries,
                            stream=False)[1]
                target = _mapping.choose(self._remember(need[1], body), *need, task.task, task.method)
            call = self._plan(task, values, timeout=self._left(call), target=target, **options)
        media = {path: value if self._passed_on(call, value) else self._load(value, call)
                 for path, value in call.media.items()}
        response, content = send(self._http, self._build(call, media), call.deadline, call.where, call.max_retries,
                                 stream=call.variant.stream)
        if call.variant.stream:
            return Stream(self._stream_from(response, call), self._decoder(call), self, call.where)
        steps = self._job(call, content)
        if steps is not None:
            from ._jobs import drive

            return self._job_result(call, drive(self._http, steps, call.route, call.headers, call.deadline,
                                                call.where, call.max_retries))
        return self._result(call, content)


class AsyncClientBase(_ClientCore[httpx.AsyncClient]):
    def _new_http(self) -> httpx.AsyncClient:
        transport = async_transport(LIMITS, SOCKET_OPTIONS)
        return httpx.AsyncClient(headers={"user-agent": USER_AGENT}, timeout=None, follow_redirects=True,
                                 transport=transport)

    async def close(self) -> None:
        """Close the connection pool (a client given as http_client stays open: it is the caller's)."""
        if self._own_http and not self._closed:
            await self._http.aclose()
        self._closed = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def get_endpoint_info(self, *, model: str | None = None, timeout: float | None = None) -> dict[str, Any]:
        """What the server says about itself (`GET /info`: TGI's model id, limits, version, ...)."""
        request, deadline = self._service("info", model, timeout, "get_endpoint_info")
        async with within(deadline, "get_endpoint_info()"):
            content = (await asend(self._http, request, deadline, "get_endpoint_info()", self.max_retries, False))[1]
        return self._info(content)

    async def health_check(self, model: str | None = None, *, timeout: float | None = None) -> bool:
        """Whether the server answers its health route with a success status (no retries)."""
        request, deadline = self._service("health", model, timeout, "health_check")
        try:
            async with within(deadline, "health_check()"):
                await asend(self._http, request, deadline, "health_check()", 0, False)
        except (HTTPError, InferenceConnectionError, InferenceTimeoutError):
            return False
        return True

    async def _load(self, value: Any, call: _Call) -> _inputs.Media:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return _inputs.read_local(value)
        if not _inputs.is_remote(value):  # files: read off the event loop
            import asyncio  # here, not at the top: the sync client never needs it

            return await asyncio.to_thread(_inputs.read_local, value)
        response, data = await asend(self._http, self._download(value, call), call.deadline,
                                     f"{call.where} input download", call.max_retries, stream=False)
        return _inputs.from_download(data, response.headers.get("content-type"), value)

    async def _call(self, task: TaskSpec, values: Mapping[str, Any], *, model: str | None,
                    extra_body: Mapping[str, Any] | None, headers: Mapping[str, str] | None,
                    timeout: float | None, max_retries: int | None, flags: Mapping[str, Any]) -> Any:
        options: dict[str, Any] = {"model": model, "extra_body": extra_body, "headers": headers,
                                   "max_retries": max_retries, "flags": flags}
        model_id = self._auto_model(task, model)
        if model_id is None:
            return await self._call_on(self.provider, task, values, timeout=timeout, **options)
        probe = self._plan(task, values, timeout=timeout, provider="hf-inference", **options)  # checks, sends nothing
        entries, lookup = self._known_entries(model_id)
        if entries is None:
            async with within(probe.deadline, probe.where):
                body = (await asend(self._http, lookup, probe.deadline, f"{probe.where} model mapping",
                                    probe.max_retries, stream=False))[1]
            entries = self._remember(model_id, body)
        failures: list[tuple[str, InferenceError]] = []
        for target in self._candidates(task, model_id, entries):
            try:
                return await self._call_on(target.provider, task, values, timeout=self._left(probe), target=target,
                                           **options)
            except FAILOVER as error:
                if _after_submission(error):
                    raise
                logger.debug("%s: provider %s failed (%s); trying the next one", probe.where, target.provider, error)
                failures.append((target.provider, error))
        raise self._failed_over(task, failures)

    async def _call_on(self, provider: str | None, task: TaskSpec, values: Mapping[str, Any], *,
                       model: str | None, extra_body: Mapping[str, Any] | None, headers: Mapping[str, str] | None,
                       timeout: float | Deadline | None, max_retries: int | None, flags: Mapping[str, Any],
                       target: _mapping.Entry | None = None) -> Any:
        options: dict[str, Any] = {"model": model, "extra_body": extra_body, "headers": headers,
                                   "max_retries": max_retries, "flags": flags, "provider": provider}
        call = self._plan(task, values, timeout=timeout, target=target, **options)  # checks everything
        need = None if target else self._needs_mapping(provider, model)
        if need is not None:
            target, lookup = self._mapped(need, task)
            if lookup is not None:
                async with within(call.deadline, call.where):
                    body = (await asend(self._http, lookup, call.deadline, f"{call.where} model mapping",
                                        call.max_retries, stream=False))[1]
                target = _mapping.choose(self._remember(need[1], body), *need, task.task, task.method)
            call = self._plan(task, values, timeout=self._left(call), target=target, **options)
        async with within(call.deadline, call.where):
            media = {path: value if self._passed_on(call, value) else await self._load(value, call)
                     for path, value in call.media.items()}
            response, content = await asend(self._http, self._build(call, media), call.deadline, call.where,
                                            call.max_retries, stream=call.variant.stream)
            if call.variant.stream:
                return AsyncStream(self._stream_from(response, call), self._decoder(call), self, call.where)
        steps = self._job(call, content)
        if steps is not None:
            from ._jobs import adrive

            return self._job_result(call, await adrive(self._http, steps, call.route, call.headers, call.deadline,
                                                       call.where, call.max_retries))
        return self._result(call, content)
