from media.names import clip_name, fold


def test_fold_turns_vietnamese_into_safe_ascii_words() -> None:
    assert fold("Thôn 3") == "thon-3"
    assert fold("Đường liên xã, ĐT-488!") == "duong-lien-xa-dt-488"


def test_fold_never_gives_an_empty_or_traversing_name() -> None:
    assert fold("") == "x"
    assert fold("../../etc/passwd") == "etc-passwd"
    assert fold("<script>") == "script"


def test_clip_names_carry_date_time_hall_name_and_topic_in_vietnam_time() -> None:
    at = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC, 18:06 in Vietnam
    assert clip_name(at, "Thôn 3", "Người dân", "Đường mới") == (
        "2026-11-18_1806_thon-3_nguoi-dan_duong-moi.mp4"
    )
