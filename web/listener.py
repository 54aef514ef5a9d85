"""The bridge's TCP listener: its own accept loop, so every connection is counted from accept on.

asyncio's server would hand a connection to the app only after its TLS
handshake, and on "Too many open files" it logs a traceback per attempt. Here
each accepted socket is admitted by the ConnectionGuard first (TLS handshakes
in progress count too), refused ones are closed at once, and accept errors are
one rate-limited line.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from .guard import Connection, ConnectionGuard
from .quietlog import RateLimitedLog

logger = logging.getLogger(__name__)

TLS_HANDSHAKE_TIMEOUT = 10.0
# A new connection must have sent its first request's headers by then (aiohttp's
# keep-alive timeout covers the requests after it).
HEADER_TIMEOUT = 10.0
# Answer to a plain-HTTP connection past the caps; a TLS one is just closed.
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n"
    b"Retry-After: 5\r\nX-Error-Code: busy\r\n\r\n"
)
OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class GuardedSite(web.BaseSite):
    """A TCP site like aiohttp's TCPSite, whose connections pass the ConnectionGuard."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        guard: ConnectionGuard,
        *,
        ssl_context: ssl.SSLContext | None = None,
        handshake_timeout: float = TLS_HANDSHAKE_TIMEOUT,
        header_timeout: float = HEADER_TIMEOUT,
        backlog: int = 512,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host, self._port = host, port
        self.guard = guard
        self._handshake_timeout = handshake_timeout
        self._header_timeout = header_timeout
        self._sockets: list[socket.socket] = []
        self._accepting: list[asyncio.Task[None]] = []
        self._handshakes: set[asyncio.Task[None]] = set()
        self._accept_errors = RateLimitedLog(logger, per_minute=6)
        self._refusals = RateLimitedLog(logger, per_minute=6)

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        if self._sockets:
            return int(self._sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
            made(handler, transport)
            sock = transport.get_extra_info("socket")
            connection = self._pending.pop(sock.fileno() if sock is not None else -1, None)
            if connection is not None:
                connection.close = handler.force_close
                self.guard.handlers[handler] = connection
                connection.timer = asyncio.get_running_loop().call_later(
                    self._header_timeout, self._first_request_due, connection
                )

        def connection_lost(handler: RequestHandler, exc: BaseException | None) -> None:
            lost(handler, exc)
            connection = self.guard.handlers.pop(handler, None)
            if connection is not None:
                self.guard.closed(connection)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign,assignment]
        self._pending: dict[int, Connection] = {}  # fd → connection still in its handshake
        infos = socket.getaddrinfo(
            self._host or None, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, _, _, _, address = infos[0]
        sock = socket.create_server(address, family=family, backlog=self._backlog)
        sock.setblocking(False)
        self._sockets.append(sock)
        self._accepting.append(asyncio.ensure_future(self._accept(sock, server)))

    def _first_request_due(self, connection: Connection) -> None:
        connection.timer = None
        if connection.requests == 0 and not connection.evicted:
            connection.close()

    async def stop(self) -> None:
        for task in self._accepting:
            task.cancel()
        for task in list(self._handshakes):
            task.cancel()
        for sock in self._sockets:
            sock.close()
        self._accepting.clear()
        await super().stop()

    async def _accept(self, listening: socket.socket, server: web.Server) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, peer = await loop.sock_accept(listening)
            except OSError as exc:
                if exc.errno not in OUT_OF_FDS and exc.errno != errno.ECONNABORTED:
                    raise
                self._accept_errors.warning(
                    "cannot accept connections: %s (%d open)", exc.strerror, self.guard.total
                )
                await asyncio.sleep(0.1)  # the backlog keeps them until fds come back
                continue
            address = str(peer[0])
            tasks: list[asyncio.Task[None]] = []  # the handshake, once it is started

            def close_early(conn: socket.socket = conn, tasks: list = tasks) -> None:  # type: ignore[type-arg]
                if tasks and not tasks[0].done():
                    tasks[0].cancel()  # mid-handshake: asyncio closes the transport
                else:
                    conn.close()

            connection = self.guard.admit(address, loop.time(), close_early)
            if connection is None:
                self._refusals.warning(
                    "refused a connection from %s: %d open from it, %d in all",
                    address,
                    self.guard.counts.by_address[address],
                    self.guard.total,
                )
                if self._ssl_context is None:
                    with contextlib.suppress(OSError):
                        conn.send(REFUSAL)
                conn.close()
                continue
            self._pending[conn.fileno()] = connection
            task = asyncio.ensure_future(self._serve(conn, connection, server))
            tasks.append(task)
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)

    async def _serve(self, conn: socket.socket, connection: Connection, server: web.Server) -> None:
        loop = asyncio.get_running_loop()
        fd = conn.fileno()
        try:
            await loop.connect_accepted_socket(
                server,
                conn,
                ssl=self._ssl_context,
                ssl_handshake_timeout=self._handshake_timeout if self._ssl_context else None,
            )
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError, asyncio.CancelledError):
            # A handshake that failed, timed out or was evicted: uncount it, quietly.
            self._pending.pop(fd, None)
            self.guard.closed(connection)
            with contextlib.suppress(OSError):
                conn.close()
