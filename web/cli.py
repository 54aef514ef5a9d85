"""`commune-bridge --config PATH [serve|rotate-ca|export MEETING_ID]`: check the config, make
certificates, print join links, serve; or replace the local CA (see README, "Rotating the
CA"); or export one meeting's record as a ZIP."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import signal
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web, web_response

from .app import SECURITY_HEADERS, create_app
from .config import Settings, check_port_free, join_links, load_settings
from .errors import ConfigError
from .exportcli import run_export
from .guard import ConnectionGuard, raise_fd_limit
from .listener import GuardedSite
from .tls import ensure_certificate, local_addresses, rotate_ca

# Idle keep-alive connections close after this; the first request's headers must come
# within listener.HEADER_TIMEOUT and a TLS handshake within listener.TLS_HANDSHAKE_TIMEOUT.
KEEPALIVE_TIMEOUT = 15.0
# aiohttp's request-line and header limits, a little tighter than its defaults: the
# pages and WHIP/WHEP clients send a handful of short headers.
HANDLER_LIMITS = {"max_line_size": 8190, "max_field_size": 8190, "max_headers": 64}

WILDCARDS = ("0.0.0.0", "::", "")
# bench/floor_bench.py --profile: sample where the CPU goes (bench/cpu_sampler.py).
PROFILE_ENV = "COMMUNE_PROFILE"
SERVER_NAME = SECURITY_HEADERS["Server"]


def _ssl_context(settings: Settings) -> tuple[ssl.SSLContext | None, Path | None]:
    tls = settings.server.tls
    if tls.mode == "off":
        return None, None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if tls.mode == "files":
        assert tls.cert is not None and tls.key is not None
        context.load_cert_chain(tls.cert, tls.key)
        return context, None
    return context, _reload_certificate(settings, context)


def _base_url(settings: Settings, secure: bool) -> str:
    host = settings.server.host
    if host in WILDCARDS:
        lan = [
            a
            for a in local_addresses()
            if ipaddress.ip_address(a).version == 4 and not ipaddress.ip_address(a).is_loopback
        ]
        host = lan[0] if lan else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if secure else 'http'}://{host}:{settings.server.port}"


def _fail(line: str) -> int:
    print(f"commune-bridge: {line}", file=sys.stderr)
    return 2


def _renew_certificate_daily(
    settings: Settings, context: ssl.SSLContext
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Re-issue the server certificate (same CA) when it nears expiry or the address
    changes, without a restart: a bridge may run for longer than a certificate lives."""

    async def renew(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(24 * 3600)
                try:
                    await asyncio.get_running_loop().run_in_executor(
                        None, _reload_certificate, settings, context
                    )
                except Exception:
                    logging.getLogger(__name__).exception("certificate renewal failed")

        task = asyncio.ensure_future(loop())
        yield
        task.cancel()

    return renew


def _hosts(settings: Settings) -> list[str]:
    host = settings.server.host
    return ([host] if host not in WILDCARDS else []) + local_addresses()


def _reload_certificate(settings: Settings, context: ssl.SSLContext) -> Path:
    """Make sure the certificate is current and load it; returns the CA's path."""
    paths = ensure_certificate(settings.data_dir, _hosts(settings))
    context.load_cert_chain(paths.cert, paths.key)  # new handshakes use the new pair
    return paths.ca_cert


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="commune-bridge", description=__doc__)
    parser.add_argument("--config", type=Path, default=None, help="config.yaml (default: built-in)")
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=("serve", "rotate-ca", "export"),
        help="serve (default), or rotate-ca: make a new local CA and server certificate",
    )
    parser.add_argument("meeting", nargs="?", help="export: the meeting to export as a ZIP")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # aioice logs every candidate pair's state at INFO: a line per pair of every offer
    # anyone sends. Its warnings still show.
    logging.getLogger("aioice").setLevel(logging.WARNING)
    config_file = str(args.config) if args.config else "<defaults>"
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        return _fail(str(exc))
    except OSError as exc:  # e.g. data_dir cannot be created or keys.yaml written
        return _fail(f"{config_file}: data_dir: {exc.strerror or exc}: {exc.filename or ''}")
    if args.command == "rotate-ca":
        return _rotate_ca(settings)
    if args.command == "export":
        return run_export(settings, args.meeting)
    fd_limit = raise_fd_limit()
    try:
        check_port_free(settings)
        context, ca = _ssl_context(settings)
    except ConfigError as exc:
        return _fail(str(exc))
    except (OSError, ssl.SSLError, ValueError) as exc:
        return _fail(f"{settings.config_file}: server.tls: {exc}")
    base = _base_url(settings, context is not None)
    print(f"{settings.commune}: bridge at {base}")
    for label, url in join_links(settings, base):
        print(f"  {label:<24} {url}")
    if settings.generated_keys:
        print(f"  (new keys were generated and saved in {settings.data_dir / 'keys.yaml'})")
    if ca is not None:
        print(f"  TV boxes trust the bridge by installing {ca} (see README)")
    print("Ctrl+C stops the bridge. / Nhấn Ctrl+C để dừng.")
    sys.stdout.flush()
    # aiohttp's own answers to requests it cannot parse (400 on a header too long) skip the
    # app's on_response_prepare, so they would still name the Python and aiohttp versions.
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]
    guard = ConnectionGuard(settings.limits, fd_limit)
    app = create_app(settings, guard=guard)
    if context is not None and settings.server.tls.mode == "auto":
        app.cleanup_ctx.append(_renew_certificate_daily(settings, context))
    sampler = None
    if os.environ.get(PROFILE_ENV):
        from bench.cpu_sampler import CpuSampler  # a development tool: only when asked

        sampler = CpuSampler(os.environ[PROFILE_ENV])
        sampler.arm()
    try:
        asyncio.run(_serve(app, settings, context, guard))
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if sampler is not None:
            sampler.stop()
    return 0


async def _serve(
    app: web.Application,
    settings: Settings,
    context: ssl.SSLContext | None,
    guard: ConnectionGuard,
) -> None:
    """Serve until a signal, on the guarded listener (web/listener.py), not aiohttp's own."""
    runner = web.AppRunner(
        app,
        # Our own handlers: aiohttp's raise GracefulExit out of the loop, which leaves
        # asyncio.run to destroy tasks still pending instead of closing the meeting.
        handle_signals=False,
        access_log=None,
        keepalive_timeout=KEEPALIVE_TIMEOUT,
        shutdown_timeout=5.0,
        **HANDLER_LIMITS,  # type: ignore[arg-type]
    )
    await runner.setup()
    site = GuardedSite(
        runner, settings.server.host, settings.server.port, guard, ssl_context=context
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await site.start()
        await stop.wait()
    finally:
        await runner.cleanup()


def _rotate_ca(settings: Settings) -> int:
    """Replace the local CA; the old files are kept beside the new ones, renamed."""
    if settings.server.tls.mode != "auto":
        return _fail(f"{settings.config_file}: server.tls: rotate-ca is for tls: auto only")
    try:
        kept = rotate_ca(settings.data_dir, _hosts(settings))
    except ConfigError as exc:
        return _fail(str(exc))
    tls_dir = settings.data_dir / "tls"
    print(f"New CA: {tls_dir / 'ca.pem'} (install it on every hall TV, then restart the bridge)")
    if kept:
        print(f"The old CA was kept as {', '.join(str(p) for p in kept)}")
    print(f"Keep {tls_dir / 'ca-key.pem'} off the server if you like: see README.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
