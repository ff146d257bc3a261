"""How `graphrec serve` (and `graphrec judge`) run under uvicorn: limits on connections and slow clients.

uvicorn bounds an idle keep-alive connection (``timeout_keep_alive``) and, with ``limit_concurrency``,
answers 503 past a number of connections, but nothing bounds the time a client may take to send its
request headers: a client that sends half a request line and waits held its connection for ever.
:class:`HeaderTimeoutProtocol` closes a connection on which no complete request has arrived within
``header_timeout_s`` of its opening or of the previous response. The request body's timeouts are the
app's (:class:`graphrec.serve.limits.BodyLimitMiddleware`, 408).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from graphrec._log import get_logger

if TYPE_CHECKING:  # pragma: no cover
    import uvicorn

log = get_logger(__name__)

__all__ = ["HeaderTimeoutProtocol", "ServerLimits", "run_server", "server_config"]


@dataclass(frozen=True)
class ServerLimits:
    """Connection-level limits: headers within ``header_timeout_s``, idle keep-alive connections closed
    after ``keep_alive_s``, and 503 answers once about ``max_connections`` connections are open
    (slow ones included, until their timeout closes them)."""

    header_timeout_s: float = 10.0
    keep_alive_s: int = 5
    max_connections: int = 64

    def __post_init__(self) -> None:
        if not isinstance(self.header_timeout_s, int | float) or isinstance(self.header_timeout_s, bool) or not 0 < self.header_timeout_s < float("inf"):
            raise ValueError(f"ServerLimits.header_timeout_s must be a positive number of seconds, got {self.header_timeout_s!r}.")
        for name in ("keep_alive_s", "max_connections"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ServerLimits.{name} must be a positive integer, got {value!r}.")


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers do not arrive in time."""

    header_timeout_s: float = ServerLimits.header_timeout_s  # set per server by server_config()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        # The request cycle now current: a complete request's headers replace it, which disarms the timer.
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout, self.cycle)

    def _header_timeout(self, cycle_when_armed: Any) -> None:
        if self.cycle is cycle_when_armed and not self.transport.is_closing():
            log.info("closing the connection of %s: no complete request within %g s", self.client, self.header_timeout_s)
            self.transport.close()

    def on_response_complete(self) -> None:
        self._arm_header_timer()  # first: a pipelined request handled inside the call below disarms it
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)


def server_config(
    app: Any, *, host: str, port: int, limits: ServerLimits | None = None, log_level: str = "info"
) -> uvicorn.Config:
    """The uvicorn configuration that serves ``app`` with ``limits`` (defaults: :class:`ServerLimits`)."""
    import uvicorn

    limits = limits or ServerLimits()
    protocol = type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": float(limits.header_timeout_s)})
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=protocol,
        timeout_keep_alive=limits.keep_alive_s,
        limit_concurrency=limits.max_connections,
    )


def run_server(app: Any, *, host: str, port: int, limits: ServerLimits | None = None, log_level: str = "info") -> None:
    """Serve ``app`` with :func:`server_config` until interrupted (as ``uvicorn.run`` would, with our limits)."""
    import sys

    import uvicorn

    server = uvicorn.Server(server_config(app, host=host, port=port, limits=limits, log_level=log_level))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    if not server.started:
        sys.exit(3)  # uvicorn has logged why (e.g. the port is taken); 3 is its own startup-failure status
