"""Shared fixtures: settings for a loopback bridge in a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.config import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        None,
        overrides={
            "data_dir": str(tmp_path / "data"),
            "server": {"host": "127.0.0.1", "port": 18443, "tls": "off"},
        },
    )
