"""An announcement's picture, made safe to keep and show: the type told by its first bytes,
the size bounded, and the picture decoded and encoded anew, so no metadata (GPS position,
camera serial, comments) and no crafted bytes reach the board.

Pure CPU work on bytes in memory: run `clean_image` on an executor. Nothing here writes.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

MAX_BYTES = 5 * 1024 * 1024
# A 5 MB file may still claim 50000 × 50000 pixels and unpack to gigabytes: the header's
# size is checked before anything is decoded.
MAX_PIXELS = 40_000_000
# The board is a 1080p screen; a bigger picture only costs the board's network.
BOX = (1920, 1080)
JPEG_QUALITY = 85

# The formats a secretary's phone or PC makes, known by their first bytes.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"WEBP", 8, "WEBP"),  # after "RIFF" and the length
)


class NotAnImage(UnsupportedMediaType):
    code = "not-an-image"


class BadImage(BadRequest):
    code = "bad-image"


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    media_type: str  # image/jpeg or image/png
    suffix: str  # .jpg or .png
    width: int
    height: int


def sniff(data: bytes) -> str | None:
    """The image format the bytes start with (Pillow's name), or None."""
    for magic, offset, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic and (
            name != "WEBP" or data.startswith(b"RIFF")
        ):
            return name
    return None


def clean_image(data: bytes) -> CleanImage:
    """`data` re-encoded without metadata, at most BOX in size; raises NotAnImage (415),
    PayloadTooLarge (413) or BadImage (400) naming why."""
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"the image is {len(data)} bytes; at most {MAX_BYTES} fit")
    kind = sniff(data)
    if kind is None:
        raise NotAnImage("the file is not a JPEG, PNG, GIF or WebP image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the decoder the first bytes named: no other of Pillow's parsers sees it.
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise BadImage(
                        f"the image claims {width}×{height} pixels; at most {MAX_PIXELS} fit"
                    )
                image.load()  # a truncated or corrupt body fails here
                picture = ImageOps.exif_transpose(image)  # turn it as the camera held it
                has_alpha = picture.mode in ("RGBA", "LA", "PA") or (
                    picture.mode == "P" and "transparency" in picture.info
                )
                picture = picture.convert("RGBA" if has_alpha else "RGB")
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage(f"the file starts like a {kind} image but its header is damaged") from None
    except (
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ) as exc:
        raise BadImage(f"the {kind} image cannot be read: {str(exc)[:120]}") from None
    picture.thumbnail(BOX, Image.Resampling.LANCZOS)
    # Pillow carries `info` (a JPEG comment, an ICC profile, PNG text) into what it saves:
    # only the pixels go into the new image.
    picture = Image.frombytes(picture.mode, picture.size, picture.tobytes())
    out = io.BytesIO()
    # A new image from pixels only: no exif=, no icc_profile=, no text chunks passed on.
    if has_alpha:
        picture.save(out, "PNG", optimize=True)
        media_type, suffix = "image/png", ".png"
    else:
        picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        media_type, suffix = "image/jpeg", ".jpg"
    return CleanImage(out.getvalue(), media_type, suffix, picture.width, picture.height)
