"""The exceptions inferlink raises. Every public call raises these (or builtins they subclass), never raw httpx or
pydantic errors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "HTTPError",
    "InferenceConnectionError",
    "InferenceError",
    "InferenceTimeoutError",
    "InvalidInputError",
    "JobFailedError",
    "MissingDependencyError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProvidersFailedError",
    "RateLimitError",
    "ResponseError",
    "ServerError",
    "StreamError",
    "StructuredOutputError",
    "UnprocessableEntityError",
]


class InferenceError(Exception):
    """Base class of every error inferlink raises."""


class InvalidInputError(InferenceError, ValueError):
    """An argument was rejected before anything was sent."""


class MissingDependencyError(InferenceError, ImportError):
    """An optional package is needed for this call (the message names the extra to install)."""


class ClientClosedError(InferenceError, RuntimeError):
    """The client was used after close()."""


class InferenceTimeoutError(InferenceError, TimeoutError):
    """The call did not finish within its timeout."""


class InferenceConnectionError(InferenceError, ConnectionError):
    """The server could not be reached, or the connection broke."""


class ResponseError(InferenceError):
    """The server answered with a success status, but its body is not what the task returns."""

    def __init__(self, message: str, *, body: bytes = b"") -> None:
        super().__init__(message)
        self.body = body


class StructuredOutputError(ResponseError):
    """A reply asked to follow a response_format model does not validate against it. `.text` is the raw reply."""

    def __init__(self, message: str, *, text: str, body: bytes = b"") -> None:
        super().__init__(message, body=body)
        self.text = text


class ProvidersFailedError(InferenceError):
    """provider="auto" tried every provider that serves the model, and each failed. `.failures` lists
    (provider, error) in the order they were tried."""

    def __init__(self, message: str, *, failures: list[tuple[str, InferenceError]]) -> None:
        super().__init__(message)
        self.failures = failures


class JobFailedError(InferenceError):
    """A provider ran the submitted job (a queued or polled generation) and reports that it failed.

    Attributes: ``provider``, ``job_id``, ``status`` (the provider's word, e.g. ``failed``), ``provider_message``
    (the provider's own words) and ``payload`` (the provider's last JSON document about the job)."""

    def __init__(self, message: str, *, provider: str | None, job_id: str | None, status: str | None,
                 provider_message: str | None, payload: Any = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.job_id = job_id
        self.status = status
        self.provider_message = provider_message
        self.payload = payload


class StreamError(InferenceError):
    """The server reported an error inside a stream that had started fine."""

    def __init__(self, message: str, *, error_type: str | None = None, payload: Any = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.payload = payload


class HTTPError(InferenceError):
    """The server answered with an error status.

    Attributes: ``status_code``, ``server_message`` (the server's own words), ``error_type`` (when the server names
    one, e.g. TGI's ``validation``), ``request_id`` and ``response`` (the httpx response, body already read)."""

    def __init__(self, message: str, *, response: httpx.Response, server_message: str | None,
                 error_type: str | None, request_id: str | None) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.server_message = server_message
        self.error_type = error_type
        self.request_id = request_id


class BadRequestError(HTTPError, ValueError):
    """400: the server rejected the request."""


class AuthenticationError(HTTPError):
    """401: the token is missing or invalid."""


class PermissionDeniedError(HTTPError):
    """403: the token may not use this model or provider."""


class NotFoundError(HTTPError):
    """404: no such model, route or endpoint."""


class UnprocessableEntityError(HTTPError, ValueError):
    """422: the request was well-formed but the server could not process its values."""


class RateLimitError(HTTPError):
    """429: too many requests."""


class ServerError(HTTPError):
    """5xx: the server failed."""


_BY_STATUS: dict[int, type[HTTPError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-trace-id", "x-amz-cf-id", "request-id", "cf-ray")


def server_message(body: bytes, content_type: str) -> tuple[str | None, str | None]:
    """The message and error type a server put in an error body: TGI/HF ({"error": str, "error_type": str}),
    OpenAI ({"error": {"message", "type"}}), FastAPI ({"detail": ...}) or plain text. HTML pages give None."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return None, None
    try:
        data = json.loads(text)
    except ValueError:
        if "html" in content_type or text.lstrip().lower().startswith(("<!doctype", "<html")):
            return None, None
        return text[:2000], None
    return _message_of(data)


def _message_of(data: Any) -> tuple[str | None, str | None]:
    if isinstance(data, str):
        return data, None
    if isinstance(data, list):
        messages = [m for m, _ in map(_message_of, data) if m]
        return ("; ".join(messages) or None), None
    if not isinstance(data, dict):
        return None, None
    error_type = data.get("error_type") or data.get("type")
    for key in ("error", "message", "detail", "errors", "error_description", "msg"):
        value = data.get(key)
        if value:
            message, inner_type = _message_of(value)
            if isinstance(value, dict) and message is None:
                message = json.dumps(value)
            return message, (str(error_type) if isinstance(error_type, str) else inner_type)
    return None, (error_type if isinstance(error_type, str) else None)


def error_from_response(response: httpx.Response, body: bytes) -> HTTPError:
    """Build the exception for an error status. The response body must already be read."""
    status = response.status_code
    message, error_type = server_message(body, response.headers.get("content-type", ""))
    message = response.headers.get("x-error-message") or message
    request_id = next((response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None)
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else HTTPError)
    url = response.request.url.copy_with(query=None)
    text = f"{status} {response.reason_phrase or 'error'} from {url}"
    if message:
        text += f": {message}"
    if request_id:
        text += f" (request id: {request_id})"
    return cls(text, response=response, server_message=message, error_type=error_type, request_id=request_id)
