"""The one resolver for names that come from URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.safepath import SAFE_NAME, PathRefused, SafePaths, new_id


@pytest.mark.parametrize(
    "name", ["..", ".", "", "../x", "a/b", "/etc/passwd", "%2e%2e", "a\\b", "a\x00", "x" * 65, "-a"]
)
def test_anything_but_a_plain_id_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(PathRefused):
        SafePaths(tmp_path).name(name)


def test_a_plain_id_finds_its_file_under_the_root(tmp_path: Path) -> None:
    (tmp_path / "m1").mkdir()
    (tmp_path / "m1" / "Ab_c-1.zip").write_bytes(b"z")
    found = SafePaths(tmp_path).file("m1", "Ab_c-1", suffix=".zip")
    assert found == (tmp_path / "m1" / "Ab_c-1.zip").resolve()
    with pytest.raises(PathRefused):
        SafePaths(tmp_path).file("m1", "missing", suffix=".zip")
    with pytest.raises(PathRefused):  # a folder is not a file
        SafePaths(tmp_path).file("m1")


def test_a_symlink_out_of_the_root_is_refused_and_one_within_is_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "m1").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("keys")
    (root / "m1" / "out.zip").symlink_to(secret)
    (root / "m1" / "real.zip").write_bytes(b"z")
    (root / "m1" / "alias.zip").symlink_to(root / "m1" / "real.zip")
    (root / "m2").symlink_to(tmp_path)  # a folder leading out
    paths = SafePaths(root)
    with pytest.raises(PathRefused):
        paths.file("m1", "out", suffix=".zip")
    with pytest.raises(PathRefused):
        paths.file("m2", "secret", suffix=".txt")
    assert paths.file("m1", "alias", suffix=".zip") == (root / "m1" / "real.zip").resolve()


def test_every_id_we_make_is_one_we_will_look_up() -> None:
    """An export's id names its file: one the path check refused could never be fetched
    (secrets.token_urlsafe begins with "-" or "_" one time in 32)."""
    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(SAFE_NAME.fullmatch(i) for i in ids)
