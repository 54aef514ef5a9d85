"""The `commune-bridge` console script, run for real in a subprocess."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

COMMAND = [sys.executable, "-m", "web.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, "--config", str(config)], capture_output=True, text=True, timeout=30
    )


def test_a_bad_config_stops_with_one_line_naming_file_and_key(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "halls:\n  - {id: thon-1, name: A}\n  - {id: thon-1, name: B}\n",
    )
    result = run(config)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "config.yaml" in lines[0] and "halls[1].id" in lines[0] and "duplicate" in lines[0]


def test_a_taken_port_is_reported_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = write_config(tmp_path, f"server: {{host: 127.0.0.1, port: {port}}}\n")
        result = run(config)
    assert result.returncode == 2
    assert f"server.port: port {port} is already in use" in result.stderr


def test_plain_http_on_the_lan_needs_explicit_consent(tmp_path: Path) -> None:
    config = write_config(tmp_path, "server: {host: 0.0.0.0, tls: off}\n")
    result = run(config)
    assert result.returncode == 2
    assert "server.tls" in result.stderr and "allow_plain_http" in result.stderr


def test_default_run_serves_https_with_its_own_ca_and_prints_every_join_link(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = write_config(tmp_path, f"server: {{host: 127.0.0.1, port: {port}}}\n")
    process = subprocess.Popen(
        [*COMMAND, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(13)]
        links = [line.split()[-1] for line in lines if "?key=" in line]
        assert len(links) == 11, lines  # chair, secretary, viewer, board, metrics, six halls
        assert all(link.startswith(f"https://127.0.0.1:{port}/") for link in links)
        ca = tmp_path / "data" / "tls" / "ca.pem"
        assert (tmp_path / "data" / "keys.yaml").stat().st_mode & 0o777 == 0o600
        context = ssl.create_default_context(cafile=str(ca))
        deadline = time.monotonic() + 20
        while True:
            try:
                chair = next(link for link in links if "/chair?" in link)
                with urllib.request.urlopen(chair, context=context, timeout=5) as response:
                    assert response.status == 200
                    assert "text/html" in response.headers["Content-Type"]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("argv", [["--help"]])
def test_help_names_the_config_option(argv: list[str]) -> None:
    result = subprocess.run([*COMMAND, *argv], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "--config" in result.stdout
