"""The `speakers:` and `speaker_limits:` config: keys generated once and kept beside the hall
keys, the stream links printed at start, and one clear error per mistake."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from web.config import join_links, load_settings
from web.errors import ConfigError

CLUSTERS = [
    {"id": "loa-1", "name": "Cụm loa Thôn 1", "area": "thon-1"},
    {"id": "loa-2", "name": "Cụm loa Thôn 2", "area": "thon-2"},
]


def settings_with(tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    return load_settings(None, {"data_dir": str(tmp_path / "data"), **overrides})


def error_of(tmp_path: Path, **overrides: object) -> str:
    with pytest.raises(ConfigError) as caught:
        settings_with(tmp_path, **overrides)
    return str(caught.value)


def test_cluster_keys_are_generated_once_and_kept_with_the_hall_keys(tmp_path: Path) -> None:
    first = settings_with(tmp_path, speakers=CLUSTERS)
    keys = [c.key for c in first.speakers.clusters]
    assert len(set(keys)) == 2 and all(len(k) >= 32 for k in keys)
    assert "speakers.loa-1.key" in first.generated_keys
    stored = tmp_path / "data" / "keys.yaml"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    # A new hall makes the hall keys be written again: the cluster keys stay.
    again = settings_with(tmp_path, speakers=CLUSTERS, halls=[{"id": "thon-1"}, {"id": "thon-9"}])
    assert [c.key for c in again.speakers.clusters] == keys
    assert again.generated_keys == ("halls.thon-9.key",)
    saved = yaml.safe_load(stored.read_text(encoding="utf-8"))
    assert saved["speakers"] == {"loa-1": keys[0], "loa-2": keys[1]}
    assert "thon-9" in saved["halls"]


def test_a_key_in_config_wins_and_is_not_stored(tmp_path: Path) -> None:
    given = "Zq8pW3xY7vN2kL5mR9tB4cD6"
    settings = settings_with(tmp_path, speakers=[{**CLUSTERS[0], "key": given}])
    assert settings.speakers.clusters[0].key == given
    saved = yaml.safe_load((tmp_path / "data" / "keys.yaml").read_text(encoding="utf-8"))
    assert "loa-1" not in saved.get("speakers", {})


def test_defaults_are_no_clusters_and_the_documented_limits(tmp_path: Path) -> None:
    settings = settings_with(tmp_path)
    assert settings.speakers.clusters == ()
    limits = settings.speakers.limits
    assert (limits.listeners, limits.stale_after, limits.buffer_seconds) == (20, 120, 8)


def test_make_run_prints_each_clusters_stream_link(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, speakers=CLUSTERS)
    links = dict(join_links(settings, "https://192.168.1.10:8443"))
    key = settings.speakers.clusters[0].key
    assert (
        links["speaker loa-1 (Cụm loa Thôn 1)"]
        == f"https://192.168.1.10:8443/speakers/loa-1/stream.mp3?key={key}"
    )


@pytest.mark.parametrize(
    ("overrides", "where", "problem"),
    [
        ({"speakers": {"id": "loa-1"}}, "speakers", "must be a list"),
        ({"speakers": [{"name": "x"}]}, "speakers[0].id", "missing"),
        ({"speakers": [{"id": "Loa 1"}]}, "speakers[0].id", "not a valid id"),
        ({"speakers": [{"id": "loa-1"}, {"id": "loa-1"}]}, "speakers[1].id", "duplicate"),
        ({"speakers": [{"id": "loa-1", "volume": 3}]}, "speakers[0].volume", "unknown"),
        ({"speakers": [{"id": "loa-1", "key": "short"}]}, "speakers[0].key", "too short"),
        ({"speaker_limits": {"listeners": 0}}, "speaker_limits.listeners", "out of range"),
        ({"speaker_limits": {"stale_after": "2m"}}, "speaker_limits.stale_after", "whole"),
        ({"speaker_limits": {"listners": 5}}, "speaker_limits.listners", "listeners"),
    ],
)
def test_each_mistake_names_the_key_and_the_problem(
    tmp_path: Path, overrides: dict[str, object], where: str, problem: str
) -> None:
    message = error_of(tmp_path, **overrides)
    assert f": {where}: " in message and problem in message


def test_a_cluster_never_shares_a_key_with_a_hall(tmp_path: Path) -> None:
    shared = "Zq8pW3xY7vN2kL5mR9tB4cD6"
    message = error_of(
        tmp_path,
        halls=[{"id": "thon-1", "key": shared}],
        speakers=[{"id": "loa-1", "key": shared}],
    )
    assert "speakers[0].key: same key as halls.thon-1.key" in message


def test_an_idle_file_must_exist(tmp_path: Path) -> None:
    message = error_of(tmp_path, speaker_idle_file=str(tmp_path / "missing.mp3"))
    assert ": speaker_idle_file: file not found" in message
    (tmp_path / "idle.mp3").write_bytes(b"\xff\xfb")
    settings = settings_with(tmp_path, speaker_idle_file=str(tmp_path / "idle.mp3"))
    assert settings.speakers.idle_file == tmp_path / "idle.mp3"
