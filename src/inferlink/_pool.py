"""The async client's connection pool: httpcore's, minus its collapse under many concurrent requests.

httpcore 1.0's AsyncConnectionPool offers one idle connection to every queued request in the same pass; all but one
then fail with ConnectionNotAvailable and queue again, so at 64 requests in flight each request costs several passes,
each scanning every connection (measured: ~57% of the client's time). This pool reserves a connection for exactly
one request per pass. The stock pool is used when httpcore's internals are not the ones this was written against."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import httpcore
import httpx


class ReservingPool(httpcore.AsyncConnectionPool):
    def _assign_requests_to_connections(self) -> list[Any]:
        closing: list[Any] = []
        idle = sum(1 for c in self._connections if c.is_idle())
        for existing in list(self._connections):
            if existing.is_closed():
                self._connections.remove(existing)
            elif existing.has_expired():
                self._connections.remove(existing)
                closing.append(existing)
            elif existing.is_idle() and idle > self._max_keepalive_connections:
                self._connections.remove(existing)
                closing.append(existing)
                idle -= 1
        reserved = {id(r.connection) for r in self._requests if r.connection is not None}
        for pool_request in self._requests:
            if not pool_request.is_queued():
                continue
            origin = pool_request.request.url.origin
            connection = next((c for c in self._connections if id(c) not in reserved
                               and c.can_handle_request(origin) and c.is_available()), None)
            if connection is None:
                if len(self._connections) >= self._max_connections:
                    spare = next((c for c in self._connections if id(c) not in reserved and c.is_idle()), None)
                    if spare is None:
                        continue  # every connection is busy: wait for one to come back
                    self._connections.remove(spare)
                    closing.append(spare)
                connection = self.create_connection(origin)
                self._connections.append(connection)
            reserved.add(id(connection))
            pool_request.assign_to_connection(connection)
        return closing


def async_transport(limits: httpx.Limits, socket_options: list[tuple[int, int, int]]) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(limits=limits, socket_options=socket_options)
    stock = transport._pool
    needed = ("_ssl_context", "_max_connections", "_max_keepalive_connections", "_keepalive_expiry", "_http1",
              "_http2", "_retries", "_local_address", "_uds", "_socket_options", "_network_backend", "_requests")
    if type(stock) is httpcore.AsyncConnectionPool and all(hasattr(stock, name) for name in needed):
        transport._pool = ReservingPool(
            ssl_context=stock._ssl_context, max_connections=stock._max_connections,
            max_keepalive_connections=stock._max_keepalive_connections, keepalive_expiry=stock._keepalive_expiry,
            http1=stock._http1, http2=stock._http2, retries=stock._retries, local_address=stock._local_address,
            uds=stock._uds, socket_options=stock._socket_options, network_backend=stock._network_backend)
    # httpcore tries `import sniffio` for every lock it sets up; when sniffio is not installed, each try searches
    # sys.path again. Recording the absence makes the failing import instant (it fails the same way).
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
    return transport
