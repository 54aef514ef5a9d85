"""config.yaml loading: defaults, key persistence, and one clear error per mistake."""

from __future__ import annotations

import base64
import socket
import stat
from pathlib import Path

import pytest
import yaml

from web.config import check_port_free, join_links, load_settings
from web.errors import ConfigError

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"
CHAIR_KEY = "chair-key-0123456789"
VIEWER_KEY = "viewer-key-0123456789"


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path, overrides: dict[str, object] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {"data_dir": path.parent / "data", **(overrides or {})})
    return str(caught.value)


def test_defaults_give_six_halls_and_strong_generated_keys(tmp_path: Path) -> None:
    settings = load_settings(None, {"data_dir": tmp_path})

    assert [hall.id for hall in settings.halls] == [f"thon-{n}" for n in range(1, 7)]
    assert [hall.name for hall in settings.halls] == [f"Thôn {n}" for n in range(1, 7)]
    assert settings.commune == "Xã Trực Khang"
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 8443)
    assert settings.server.tls.mode == "auto"
    assert settings.config_file == "<defaults>"
    keys = settings.keys
    every_key = [keys.chair, keys.secretary, keys.viewer, keys.metrics]
    every_key += [hall.key for hall in settings.halls]
    assert len(set(every_key)) == 10
    for key in every_key:
        assert len(base64.urlsafe_b64decode(key + "==")) * 8 >= 128
    assert set(settings.generated_keys) == {
        "keys.chair",
        "keys.secretary",
        "keys.viewer",
        "keys.metrics",
    } | {f"halls.thon-{n}.key" for n in range(1, 7)}


def test_generated_keys_persist_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = load_settings(None, {"data_dir": data_dir})
    second = load_settings(None, {"data_dir": data_dir})

    assert second.keys == first.keys
    assert second.halls == first.halls
    assert second.generated_keys == ()
    assert stat.S_IMODE((data_dir / "keys.yaml").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_keys_in_config_win_over_stored_keys(tmp_path: Path) -> None:
    path = write_config(tmp_path, "")
    first = load_settings(path)
    path.write_text(f"keys: {{chair: {CHAIR_KEY}}}\n", encoding="utf-8")
    second = load_settings(path)

    assert second.keys.chair == CHAIR_KEY
    assert second.keys.viewer == first.keys.viewer
    assert second.generated_keys == ()


def test_new_hall_gets_a_key_and_old_halls_keep_theirs(tmp_path: Path) -> None:
    path = write_config(tmp_path, "halls: [{id: thon-1, name: A}]\n")
    first = load_settings(path)
    path.write_text("halls: [{id: thon-1, name: A}, {id: thon-9, name: B}]\n", encoding="utf-8")
    second = load_settings(path)

    assert second.halls[0].key == first.halls[0].key
    assert second.generated_keys == ("halls.thon-9.key",)


def test_data_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "data_dir: ./state\n")
    settings = load_settings(path)

    assert settings.data_dir == (tmp_path / "state").resolve()
    assert (tmp_path / "state" / "keys.yaml").is_file()


def test_repo_config_yaml_holds_the_defaults(tmp_path: Path) -> None:
    from_file = load_settings(REPO_CONFIG, {"data_dir": tmp_path})
    defaults = load_settings(None, {"data_dir": tmp_path})

    assert from_file.commune == defaults.commune
    assert from_file.server == defaults.server
    assert from_file.halls == defaults.halls
    assert from_file.keys == defaults.keys
    assert from_file.ice_servers == ()
    assert from_file.turn is None


def test_bare_off_in_yaml_means_tls_off(tmp_path: Path) -> None:
    path = write_config(tmp_path, "server: {host: 127.0.0.1, tls: off}\n")

    assert load_settings(path).server.tls.mode == "off"


def test_tls_files_are_resolved_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "c.pem").write_text("x")
    (tmp_path / "k.pem").write_text("x")
    path = write_config(tmp_path, "server: {tls: {cert: c.pem, key: k.pem}}\n")
    tls = load_settings(path).server.tls

    assert (tls.mode, tls.cert, tls.key) == ("files", tmp_path / "c.pem", tmp_path / "k.pem")


def test_ice_servers_are_passed_on_in_rtc_configuration_shape(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "ice_servers:\n  - {urls: 'turn:t.example:3478', username: u, credential: p}\n",
    )
    servers = load_settings(path).ice_servers

    assert servers == ({"urls": "turn:t.example:3478", "username": "u", "credential": "p"},)


def test_a_turn_section_keeps_its_urls_secret_and_ttl(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "turn:\n  urls: ['turn:turn.example.vn:3478', 'turns:turn.example.vn:5349']\n"
        "  secret: a-long-shared-turn-secret\n  ttl: 3600\n",
    )
    turn = load_settings(path).turn

    assert turn is not None
    assert turn.urls == ("turn:turn.example.vn:3478", "turns:turn.example.vn:5349")
    assert (turn.secret, turn.ttl) == ("a-long-shared-turn-secret", 3600)
    assert "a-long-shared-turn-secret" not in repr(load_settings(path))


def test_a_turn_section_with_one_url_and_no_ttl_lasts_a_day(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, "turn: {urls: 'turn:h:3478', secret: a-long-shared-turn-secret}\n"
    )
    turn = load_settings(path).turn

    assert turn is not None and (turn.urls, turn.ttl) == (("turn:h:3478",), 86400)


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    message = load_error(tmp_path / "nope.yaml")

    assert "nope.yaml: -: file not found" in message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "commune: x\nserver: {port: 8443\nhalls: []\n")
    message = load_error(path)

    assert message.startswith(f"{path}: -: YAML syntax error")
    assert "line 3" in message


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("- just\n- a list\n", "-", "top level must be a mapping"),
        ("comune: x\n", "comune", "did you mean 'commune'"),
        ("server: {prot: 1}\n", "server.prot", "unknown key"),
        ("server: 8443\n", "server", "must be a mapping"),
        ("commune: 5\n", "commune", "must be text"),
        ("server: {port: '8443'}\n", "server.port", "must be a whole number"),
        ("server: {port: 70000}\n", "server.port", "not a port (1..65535)"),
        ("server: {port: 0}\n", "server.port", "not a port (1..65535)"),
        ("server: {allow_plain_http: maybe}\n", "server.allow_plain_http", "true or false"),
        ("server: {tls: yes}\n", "server.tls", "must be auto, off or"),
        ("server: {tls: {cert: gone.pem, key: gone.pem}}\n", "server.tls.cert", "file not found"),
        ("server: {tls: off}\n", "server.tls", "tls is off but host 0.0.0.0"),
        ("halls: []\n", "halls", "at least one hall"),
        ("halls: {thon-1: x}\n", "halls", "must be a list"),
        ("halls: [{id: a}, {id: b}, {id: Thon_3}]\n", "halls[2].id", "not a valid id"),
        ("halls: [{id: a}, {id: a}]\n", "halls[1].id", "duplicate hall id 'a'"),
        ("halls: [{name: x}]\n", "halls[0].id", "missing"),
        ("keys: {chair: short}\n", "keys.chair", "too short: keys must be at least 16 random"),
        ("halls: [{id: a, key: tiny}]\n", "halls[0].key", "too short"),
        (
            f"keys: {{viewer: {VIEWER_KEY}}}\nhalls: [{{id: a, key: {VIEWER_KEY}}}]\n",
            "halls[0].key",
            "same key as keys.viewer",
        ),
        (
            f"halls: [{{id: a, key: {CHAIR_KEY}}}]\nkeys: {{secretary: {CHAIR_KEY}}}\n",
            "halls[0].key",
            "same key as keys.secretary",
        ),
        ("ice_servers: [{username: u}]\n", "ice_servers[0].urls", "missing"),
        ("ice_servers: [{urls: 'http://x'}]\n", "ice_servers[0].urls", "not a stun:/turn: URL"),
        ("ice_servers: [{urls: 'turn:a, b'}]\n", "ice_servers[0].urls", "space, quote or <>,"),
        (
            "ice_servers: [{urls: 'turn:h', username: u}]\n",
            "ice_servers[0]",
            "username and credential go together",
        ),
        (
            "ice_servers: [{urls: 'turn:h', username: u, credential: \"p\\r\\nX: y\"}]\n",
            "ice_servers[0].credential",
            "control characters",
        ),
        (
            "ice_servers: [{urls: 'turn:h', username: 'u\"', credential: p}]\n",
            "ice_servers[0].username",
            "quotes",
        ),
        ("turn: 'turn:h:3478'\n", "turn", "must be a mapping"),
        ("turn: {secret: a-long-shared-turn-secret}\n", "turn.urls", "missing"),
        ("turn: {urls: [], secret: a-long-shared-turn-secret}\n", "turn.urls", "missing"),
        (
            "turn: {urls: 'stun:h:3478', secret: a-long-shared-turn-secret}\n",
            "turn.urls",
            "not a turn:/turns: URL",
        ),
        (
            "turn: {urls: ['turn:h:3478', 'turn:a b'], secret: a-long-shared-turn-secret}\n",
            "turn.urls",
            "space, quote or <>,",
        ),
        ("turn: {urls: 'turn:h'}\n", "turn.secret", "missing: give the static-auth-secret"),
        ("turn: {urls: 'turn:h', secret: short}\n", "turn.secret", "too short"),
        ("turn: {urls: 'turn:h', secret: 12345678901234567}\n", "turn.secret", "must be text"),
        (
            "turn: {urls: 'turn:h', secret: a-long-shared-turn-secret, ttl: 10}\n",
            "turn.ttl",
            "out of range (60..604800 seconds)",
        ),
        (
            "turn: {urls: 'turn:h', secret: a-long-shared-turn-secret, ttl: 1h}\n",
            "turn.ttl",
            "must be a whole number of seconds",
        ),
        (
            "turn: {urls: 'turn:h', secret: a-long-shared-turn-secret, username: u}\n",
            "turn.username",
            "unknown key",
        ),
    ],
)
def test_each_mistake_names_the_file_the_key_and_the_problem(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    path = write_config(tmp_path, text)
    message = load_error(path)

    assert message.startswith(f"{path}: {key}: ")
    assert problem in message


def test_duplicate_hall_ids_name_the_file_and_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, "halls:\n  - {id: thon-1}\n  - {id: thon-1}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {"data_dir": tmp_path})

    assert (caught.value.file, caught.value.key) == (str(path), "halls[1].id")
    assert "duplicate" in caught.value.message


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_plain_http_is_fine_on_loopback(tmp_path: Path, host: str) -> None:
    path = write_config(tmp_path, f"server: {{host: '{host}', tls: 'off'}}\n")

    assert load_settings(path).server.tls.mode == "off"


def test_plain_http_on_the_network_needs_explicit_consent(tmp_path: Path) -> None:
    path = write_config(tmp_path, "server: {tls: 'off', allow_plain_http: true}\n")

    assert load_settings(path).server.allow_plain_http is True


def test_a_corrupt_keys_file_is_reported_with_its_own_name(tmp_path: Path) -> None:
    (tmp_path / "keys.yaml").write_text("keys: {chair: abc}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"data_dir": tmp_path})

    assert str(caught.value).startswith(f"{tmp_path / 'keys.yaml'}: keys.chair: too short")


def test_check_port_free_reports_a_taken_port(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        path = write_config(tmp_path, f"server: {{host: 127.0.0.1, port: {port}}}\n")
        settings = load_settings(path)

        with pytest.raises(ConfigError) as caught:
            check_port_free(settings)

    assert str(caught.value) == f"{path}: server.port: port {port} is already in use on 127.0.0.1"


def test_check_port_free_accepts_a_free_port(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = write_config(tmp_path, f"server: {{host: 127.0.0.1, port: {port}}}\n")

    check_port_free(load_settings(path))


def test_join_links_url_encode_keys(tmp_path: Path) -> None:
    odd_key = "a&b=c d/e?f#g+h%i-long"
    path = write_config(
        tmp_path,
        yaml.safe_dump({"keys": {"chair": odd_key}, "halls": [{"id": "thon-1", "name": "Thôn 1"}]}),
    )
    settings = load_settings(path)
    links = dict(join_links(settings, "https://192.0.2.2:8443/"))

    assert links["chair"] == (
        "https://192.0.2.2:8443/chair?key=a%26b%3Dc%20d%2Fe%3Ff%23g%2Bh%25i-long"
    )
    assert links["secretary"] == f"https://192.0.2.2:8443/secretary?key={settings.keys.secretary}"
    assert links["viewer"] == f"https://192.0.2.2:8443/view?key={settings.keys.viewer}"
    assert links["board"] == f"https://192.0.2.2:8443/board?key={settings.keys.viewer}"
    assert links["metrics"] == f"https://192.0.2.2:8443/metrics?key={settings.keys.metrics}"
    hall_key = settings.halls[0].key
    assert links["hall thon-1 (Thôn 1)"] == f"https://192.0.2.2:8443/hall/thon-1?key={hall_key}"


def test_check_port_free_reports_a_host_that_is_not_this_machine(tmp_path: Path) -> None:
    path = write_config(tmp_path, "server: {host: 192.0.2.254, port: 8443}\n")

    with pytest.raises(ConfigError, match=r"server\.host: cannot listen on 192\.0\.2\.254"):
        check_port_free(load_settings(path))


def test_a_rejected_config_stores_no_keys(tmp_path: Path) -> None:
    path = write_config(tmp_path, f"keys: {{chair: {CHAIR_KEY}, viewer: {CHAIR_KEY}}}\n")
    load_error(path)

    assert not (tmp_path / "data").exists()


def test_the_record_sections_have_defaults_and_are_checked(tmp_path: Path) -> None:
    default = load_settings(None, overrides={"data_dir": str(tmp_path / "d")})
    assert (default.records.chair_name, default.records.due_days) == ("", 10)
    assert default.retention.exports_days == 30
    path = write_config(
        tmp_path,
        yaml.safe_dump(
            {
                "minutes": {"chair_name": "Nguyễn Văn A", "secretary_name": "Trần Thị B"},
                "register": {"due_days": 7},
                "retention": {"clips_days": 90},
            }
        ),
    )
    loaded = load_settings(path)
    records = loaded.records
    assert (records.chair_name, records.secretary_name) == ("Nguyễn Văn A", "Trần Thị B")
    assert (records.due_days, loaded.retention.clips_days) == (7, 90)
    bad = write_config(tmp_path, yaml.safe_dump({"register": {"due_days": 0}}))
    with pytest.raises(ConfigError, match="register.due_days"):
        load_settings(bad)
    typo = write_config(tmp_path, yaml.safe_dump({"minutes": {"chair": "x"}}))
    with pytest.raises(ConfigError, match="did you mean 'chair_name'"):
        load_settings(typo)
