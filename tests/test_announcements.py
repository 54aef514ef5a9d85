"""The board's announcements over HTTP: only the secretary manages them, pictures are checked
by content and size and come back re-encoded without metadata, a refused upload leaves
nothing on disk, and text stays text."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from PIL import Image

from web.announcements import FOLDER
from web.config import Settings

pytestmark = pytest.mark.asyncio

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def jpeg_with_exif(
    size: tuple[int, int] = (640, 480), colour: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8298] = "Owner: Nguyen Van A"  # Copyright
    exif[0x0112] = 6  # Orientation: the camera was held upright
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", exif=exif.tobytes(), comment=b"gps 21.0,105.8")
    return out.getvalue()


def form(image: bytes | None = None, filename: str = "anh.jpg", **fields: str) -> FormData:
    data = FormData(default_to_multipart=True)
    for name, value in fields.items():
        data.add_field(name, value)
    if image is not None:
        data.add_field("image", image, filename=filename, content_type="image/jpeg")
    return data


def files_under(settings: Settings) -> list[Path]:
    folder = settings.data_dir / FOLDER
    return sorted(folder.rglob("*")) if folder.exists() else []


async def create(client: TestClient, settings: Settings, data: FormData) -> Any:
    return await client.post(f"/announcements?key={settings.keys.secretary}", data=data)


async def test_the_secretary_creates_an_announcement_and_the_board_shows_it_as_text(
    client: TestClient, settings: Settings
) -> None:
    response = await create(client, settings, form(title=HOSTILE, text=f"Dòng 1\n{HOSTILE}"))
    assert response.status == 201, await response.text()
    created = await response.json()
    assert created["title"] == HOSTILE  # kept as typed: the page sets textContent
    assert created["text"] == f"Dòng 1\n{HOSTILE}" and created["image"] is None
    feed = await (await client.get(f"/board/feed?key={settings.keys.viewer}")).json()
    assert [a["title"] for a in feed["announcements"]] == [HOSTILE]
    assert feed["answers"] == [] and feed["meetings"] == []


@pytest.mark.parametrize("who", ["viewer", "hall", "chair"])
async def test_other_keys_may_not_manage_announcements(
    client: TestClient, settings: Settings, who: str
) -> None:
    key = {
        "viewer": settings.keys.viewer,
        "hall": settings.halls[0].key,
        "chair": settings.keys.chair,
    }[who]
    made = await client.post(f"/announcements?key={key}", data=form(jpeg_with_exif(), title="x"))
    assert made.status == 403
    assert (await client.get(f"/announcements?key={key}")).status == 403
    assert (await client.delete(f"/announcements/a-0123456789?key={key}")).status == 403
    assert (await client.post("/announcements", data=form(title="x"))).status == 401
    assert files_under(settings) == []


async def test_a_picture_comes_back_re_encoded_without_its_metadata(
    client: TestClient, settings: Settings
) -> None:
    original = jpeg_with_exif(size=(4000, 3000))
    assert b"SecretCam" in original and b"gps 21.0" in original
    response = await create(client, settings, form(original, title="Lịch tiêm phòng"))
    assert response.status == 201, await response.text()
    link = (await response.json())["image"]
    served = await client.get(f"{link}?key={settings.keys.viewer}")
    assert served.status == 200 and served.headers["Content-Type"] == "image/jpeg"
    body = await served.read()
    assert b"SecretCam" not in body and b"Nguyen Van A" not in body and b"gps 21.0" not in body
    picture = Image.open(io.BytesIO(body))
    assert dict(picture.getexif()) == {} and "comment" not in picture.info
    # Turned as the camera held it, and fitted to the 1080p screen.
    assert picture.size == (810, 1080)
    pixel: Any = picture.convert("RGB").getpixel((400, 500))
    red, green, blue = pixel
    assert red > 150 and green < 90 and blue < 90  # the same picture, not a blank one
    assert [p.name for p in files_under(settings)] == [link.rsplit("/", 1)[1]]
    # Without a key, or for a name no announcement shows, there is no picture.
    assert (await client.get(link)).status == 401
    assert (
        await client.get(f"/announcements/images/x.jpg?key={settings.keys.viewer}")
    ).status == 404


BIG = b"\xff\xd8\xff\xe0" + bytes(5 * 1024 * 1024)


@pytest.mark.parametrize(
    ("image", "status", "code"),
    [
        (b"MZ\x90\x00 this is a program, not a picture" * 10, 415, "not-an-image"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            415,
            "not-an-image",
        ),
        (BIG, 413, "too-large"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, 400, "bad-image"),  # JPEG magic, garbage header
        (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\xff" * 40, 400, "bad-image"),
        (jpeg_with_exif()[:3000], 400, "bad-image"),  # cut short
    ],
    ids=["program", "svg", "over-5-mb", "jpeg-bad-header", "png-bad-header", "truncated"],
)
async def test_an_upload_that_is_no_good_picture_is_refused_and_nothing_lands_on_disk(
    client: TestClient, settings: Settings, image: bytes, status: int, code: str
) -> None:
    response = await create(client, settings, form(image, title="Thông báo"))
    assert response.status == status, await response.text()
    assert response.headers["X-Error-Code"] == code
    assert (await response.text()).strip()  # a reason a person can read
    assert files_under(settings) == []
    listed = await client.get(f"/announcements?key={settings.keys.secretary}")
    assert (await listed.json())["announcements"] == []


async def test_a_decompression_bomb_is_refused_before_it_is_decoded(
    client: TestClient, settings: Settings
) -> None:
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, "PNG")  # 48 megapixels in a few kilobytes
    assert len(out.getvalue()) < 100_000
    response = await create(client, settings, form(out.getvalue(), "bom.png", title="x"))
    assert response.status == 400 and response.headers["X-Error-Code"] == "bad-image"
    assert "pixels" in await response.text()
    assert files_under(settings) == []


async def test_a_bad_field_refuses_the_whole_upload_before_the_picture_is_kept(
    client: TestClient, settings: Settings
) -> None:
    for fields in ({"title": ""}, {"title": "t" * 121}, {"title": "x", "ends_at": "abc"}):
        response = await create(client, settings, form(jpeg_with_exif(), **fields))
        assert response.status == 400 and response.headers["X-Error-Code"] == "bad-field"
    now = time.time()
    backwards = form(jpeg_with_exif(), title="x", starts_at=str(now + 50), ends_at=str(now))
    assert (await create(client, settings, backwards)).status == 400
    assert files_under(settings) == []
    not_a_form = await client.post(
        f"/announcements?key={settings.keys.secretary}", json={"title": "x"}
    )
    assert not_a_form.status == 415


async def test_an_announcement_is_shown_only_between_its_start_and_end_and_can_be_edited(
    client: TestClient, settings: Settings
) -> None:
    now = time.time()
    later = await create(client, settings, form(title="Sau", starts_at=str(now + 3600)))
    over = await create(
        client, settings, form(title="Đã qua", starts_at=str(now - 7200), ends_at=str(now - 3600))
    )
    current = await create(client, settings, form(jpeg_with_exif(), title="Bây giờ"))
    assert {later.status, over.status, current.status} == {201}

    async def shown() -> list[str]:
        feed = await (await client.get(f"/board/feed?key={settings.keys.viewer}")).json()
        return [a["title"] for a in feed["announcements"]]

    assert await shown() == ["Bây giờ"]
    later_id = (await later.json())["id"]
    moved = await client.patch(
        f"/announcements/{later_id}?key={settings.keys.secretary}",
        data=form(starts_at="", text="Giờ đã đến"),
    )
    assert moved.status == 200 and (await moved.json())["starts_at"] is None
    assert sorted(await shown()) == ["Bây giờ", "Sau"]
    # A new picture replaces the old file; removing the announcement removes its picture.
    current_id = (await current.json())["id"]
    first_file = files_under(settings)
    replaced = await client.patch(
        f"/announcements/{current_id}?key={settings.keys.secretary}",
        data=form(jpeg_with_exif(colour=(20, 20, 220))),
    )
    assert replaced.status == 200
    assert len(files_under(settings)) == 1 and files_under(settings) != first_file
    gone = await client.delete(f"/announcements/{current_id}?key={settings.keys.secretary}")
    assert gone.status == 204 and files_under(settings) == []
    assert await shown() == ["Sau"]
    missing = await client.delete(f"/announcements/{current_id}?key={settings.keys.secretary}")
    assert missing.status == 404


async def test_a_transparent_png_stays_a_png_without_its_text_chunks(
    client: TestClient, settings: Settings
) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret author")
    info.add_text("GPS", "21.0285,105.8542")
    out = io.BytesIO()
    Image.new("RGBA", (200, 100), (0, 128, 0, 128)).save(out, "PNG", pnginfo=info)
    assert b"secret author" in out.getvalue()
    response = await create(client, settings, form(out.getvalue(), "logo.png", title="Logo"))
    assert response.status == 201, await response.text()
    link = (await response.json())["image"]
    assert link.endswith(".png")
    served = await client.get(f"{link}?key={settings.keys.viewer}")
    body = await served.read()
    assert served.headers["Content-Type"] == "image/png"
    assert b"secret author" not in body and b"21.0285" not in body
    picture = Image.open(io.BytesIO(body))
    assert picture.mode == "RGBA" and picture.text == {}  # type: ignore[attr-defined]
    pixel: Any = picture.getpixel((10, 10))
    assert pixel == (0, 128, 0, 128)
