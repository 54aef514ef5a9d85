"""`commune-bridge --config PATH`: check the config, make certificates, print join links, serve."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import ssl
import sys
from pathlib import Path

from aiohttp import web

from .app import create_app
from .config import Settings, check_port_free, join_links, load_settings
from .errors import ConfigError
from .tls import ensure_certificate, local_addresses

WILDCARDS = ("0.0.0.0", "::", "")


def _ssl_context(settings: Settings) -> tuple[ssl.SSLContext | None, Path | None]:
    tls = settings.server.tls
    if tls.mode == "off":
        return None, None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if tls.mode == "files":
        assert tls.cert is not None and tls.key is not None
        context.load_cert_chain(tls.cert, tls.key)
        return context, None
    host = settings.server.host
    hosts = ([host] if host not in WILDCARDS else []) + local_addresses()
    paths = ensure_certificate(settings.data_dir, hosts)
    context.load_cert_chain(paths.cert, paths.key)
    return context, paths.ca_cert


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="commune-bridge", description=__doc__)
    parser.add_argument("--config", type=Path, default=None, help="config.yaml (default: built-in)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        settings = load_settings(args.config)
        check_port_free(settings)
        context, ca = _ssl_context(settings)
    except ConfigError as exc:
        print(f"commune-bridge: {exc}", file=sys.stderr)
        return 2
    except (OSError, ssl.SSLError, ValueError) as exc:
        print(f"commune-bridge: {settings.config_file}: server.tls: {exc}", file=sys.stderr)
        return 2
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
    web.run_app(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        ssl_context=context,
        print=None,
        access_log=None,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
