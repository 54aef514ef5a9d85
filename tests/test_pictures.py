"""The picture check itself (tests/pictures.py): a misread stamp never hides damage, and
never turns an intact picture into a damaged one."""

from __future__ import annotations

import numpy as np
import pytest

from tests.pictures import NUMBER_BITS, TIME_BITS, Picture, read_stamp, stamp

SENT_MS = 696_465_919_879


def shown(picture: Picture, n: int, misread_bit: int | None = None) -> np.ndarray:
    """Frame n's luma as a viewer would decode it, its stamp blurred in one number bit."""
    luma = picture.draw(n, SENT_MS).to_ndarray()[: picture.height]
    if misread_bit is not None:
        bits = TIME_BITS + NUMBER_BITS
        value = read_stamp(luma, bits, picture.block)
        stamp(luma, value ^ (1 << (TIME_BITS + misread_bit)), bits, picture.block)
    return luma


@pytest.mark.parametrize("size", [(320, 240), (1280, 720)])
@pytest.mark.parametrize("bit", [0, 2, 5, 8, 17, 23])
def test_a_whole_picture_with_one_stamp_bit_misread_is_intact_and_numbered_right(
    size: tuple[int, int], bit: int
) -> None:
    picture = Picture(*size)
    # Bits on and off in every byte. (With bit 8 off, misreading bit 17 would name a frame
    # 131328 = 27 x 4864 later, whose body at 320 px is the same: the one ambiguity.)
    n = 0b101_0110_1101_1011_0101
    luma = shown(picture, n, bit)
    assert picture.read(luma)[0] != n
    verdict = picture.judge(luma)
    assert (verdict.intact, verdict.number, verdict.sent_ms) == (True, n, SENT_MS)


@pytest.mark.parametrize("bit", [None, 5])
def test_a_damaged_picture_stays_damaged_whatever_its_stamp_says(bit: int | None) -> None:
    picture = Picture(320, 240)
    luma = shown(picture, 4242, bit)
    luma[112:160, 144:192] = 0  # a few macroblocks decoded wrong, as after a lost packet
    assert not picture.judge(luma).intact
