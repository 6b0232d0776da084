"""inferlink: one typed client for machine-learning inference.

    from inferlink import InferenceClient
    client = InferenceClient(model="org/model")
    client.text_classification("I love it")

Every task is a method on InferenceClient and, with the same arguments, an async method on AsyncInferenceClient.
The request and response models live in inferlink.types.
"""

from typing import TYPE_CHECKING, Any

from ._generated.sync_client import InferenceClient
from ._inputs import ContentInput
from ._stream import AsyncStream, Stream
from ._version import VERSION as __version__
from .errors import (
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    HTTPError,
    InferenceConnectionError,
    InferenceError,
    InferenceTimeoutError,
    InvalidInputError,
    JobFailedError,
    MissingDependencyError,
    NotFoundError,
    PermissionDeniedError,
    ProvidersFailedError,
    RateLimitError,
    ResponseError,
    ServerError,
    StreamError,
    StructuredOutputError,
    UnprocessableEntityError,
)

if TYPE_CHECKING:
    from ._generated.async_client import AsyncInferenceClient


def __getattr__(name: str) -> Any:
    # The async client loads on first use: programs that only use the sync one do not pay for its import.
    if name == "AsyncInferenceClient":
        from ._generated.async_client import AsyncInferenceClient

        globals()[name] = AsyncInferenceClient
        return AsyncInferenceClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AsyncInferenceClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ContentInput",
    "HTTPError",
    "InferenceClient",
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
    "Stream",
    "StreamError",
    "StructuredOutputError",
    "UnprocessableEntityError",
    "__version__",
]
