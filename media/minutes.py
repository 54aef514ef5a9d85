"""The minutes of one meeting ("Biên bản cuộc họp"), built from its logged history and the
secretary's notes, and written as DOCX, HTML and JSON for the commune to sign.

`MinutesDocument` is every line of the minutes already worded in Vietnamese; the DOCX
(media/minutesdocx.py) and HTML (media/minuteshtml.py) writers only lay it out. Every
text that came from a person is cleaned to one line of printable text here, and is only
ever set as text by the writers, never as markup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from media.names import VIETNAM
from rooms.entry import clean_text
from rooms.events import LinkQuality
from rooms.history import MeetingHistory, Question
from rooms.minutes import STATUSES

NOT_RECORDED = "Không ghi hình theo đề nghị của người dân"
NO_CLIP = "Không có bản ghi hình"  # consent given, but nothing was being recorded
CUT = "bị ngắt"
RATINGS = {"good": "Tốt", "fair": "Trung bình", "poor": "Kém"}
NO_FIGURES = "Không có số liệu"
FILES = ("bien-ban.docx", "bien-ban.html", "bien-ban.json")


@dataclass(frozen=True)
class MinutesContext:
    """What the log does not know: the commune, who signs, the halls' names, and (from
    the live room or an export) link figures that the log's summary lacks."""

    commune: str
    chair_name: str = ""
    secretary_name: str = ""
    halls: Mapping[str, str] = field(default_factory=dict)  # hall id → name, config order
    links: Mapping[str, LinkQuality] = field(default_factory=dict)


@dataclass(frozen=True)
class HallLine:
    hall: str
    joined: str
    left: str
    link: str


@dataclass(frozen=True)
class QuestionLine:
    number: int
    entry_id: str
    time: str
    hall: str
    name: str
    topic: str
    duration: str
    clip: str
    recorded: bool
    cut: bool
    status: str  # the wire name, rooms.minutes.STATUSES
    status_label: str
    answer: str


@dataclass(frozen=True)
class NoteLine:
    time: str  # wall clock in the commune
    meeting_time: str  # since the meeting opened, h:mm:ss
    text: str


@dataclass(frozen=True)
class MinutesDocument:
    meeting_id: str
    commune: str
    place: str
    title: str
    date_line: str  # "Trực Khang, ngày 29 tháng 11 năm 2026"
    date: str
    started: str
    ended: str
    chair: str
    secretary: str
    halls: list[HallLine]
    absent: list[str]
    questions: list[QuestionLine]
    notes: list[NoteLine]

    @classmethod
    def build(
        cls,
        history: MeetingHistory,
        context: MinutesContext,
        clips: Mapping[str, str | None],
    ) -> MinutesDocument:
        opened = history.opened_at or 0.0
        commune = text(context.commune)
        place = _place(commune)
        hall_name = {k: text(v) for k, v in context.halls.items()}
        links = {**history.links, **context.links}
        present = [p.hall_id for p in history.presence]
        return cls(
            meeting_id=text(history.meeting_id),
            commune=commune,
            place=place,
            title=text(history.title) or "Tiếp xúc, đối thoại với nhân dân",
            date_line=f"{place}, {long_date(opened)}",
            date=_local(opened).strftime("%d/%m/%Y"),
            started=clock(opened),
            ended=clock(history.closed_at) if history.closed_at is not None else "",
            chair=text(context.chair_name),
            secretary=text(context.secretary_name),
            halls=[
                HallLine(
                    hall_name.get(p.hall_id, text(p.hall_id)),
                    clock(p.joined_at),
                    clock(p.left_at) if p.left_at is not None else "",
                    link_text(links.get(p.hall_id)),
                )
                for p in history.presence
            ],
            absent=[name for hall_id, name in hall_name.items() if hall_id not in present],
            questions=[
                _question(n, q, hall_name, clips.get(q.entry_id), history.closed_at)
                for n, q in enumerate(history.questions, start=1)
            ],
            notes=[NoteLine(clock(n.at), span(n.at - opened), text(n.text)) for n in history.notes],
        )

    def to_json(self) -> dict[str, Any]:
        return {"type": "bien-ban", "version": 1, **asdict(self)}


def write_minutes(
    history: MeetingHistory,
    context: MinutesContext,
    folder: Path,
    clips: Mapping[str, str | None],
) -> list[Path]:
    """Write bien-ban.docx, .html and .json into `folder`; their paths, in that order.
    `clips`: entry id → the clip's file name, or None when no clip was kept."""
    from media.minutesdocx import minutes_docx
    from media.minuteshtml import minutes_html

    document = MinutesDocument.build(history, context, clips)
    folder.mkdir(parents=True, exist_ok=True)
    docx, html, data = (folder / name for name in FILES)
    docx.write_bytes(minutes_docx(document))
    html.write_text(minutes_html(document), encoding="utf-8")
    data.write_text(minutes_json(document), encoding="utf-8")
    return [docx, html, data]


def minutes_json(document: MinutesDocument) -> str:
    return json.dumps(document.to_json(), ensure_ascii=False, indent=1) + "\n"


def text(value: str) -> str:
    """One line of printable text: no control, format or surrogate characters, which
    would break the DOCX's XML or hide what a signer reads."""
    return clean_text(value)


def clock(at: float) -> str:
    return _local(at).strftime("%H:%M")


def long_date(at: float) -> str:
    day = _local(at)
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def span(seconds: float) -> str:
    """h:mm:ss since the meeting opened."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    minutes, rest = divmod(whole, 60)
    return f"{minutes} phút {rest:02d} giây" if minutes else f"{rest} giây"


def link_text(link: LinkQuality | None) -> str:
    if link is None:
        return NO_FIGURES
    figures = [f"mất gói {link.loss * 100:.1f}%", f"{link.fps:.0f} hình/giây"]
    if link.rtt_ms is not None:
        figures.append(f"trễ {link.rtt_ms:.0f} ms")
    return f"{RATINGS.get(link.rating, link.rating)} ({', '.join(figures)})"


def _question(
    number: int,
    q: Question,
    hall_name: Mapping[str, str],
    clip: str | None,
    closed_at: float | None,
) -> QuestionLine:
    ended = q.ended_at if q.ended_at is not None else closed_at
    if not q.recordable:
        clip_text = NOT_RECORDED
    else:
        clip_text = text(clip) if clip else NO_CLIP
    return QuestionLine(
        number=number,
        entry_id=text(q.entry_id),
        time=clock(q.granted_at),
        hall=hall_name.get(q.hall_id, text(q.hall_id)),
        name=text(q.name),
        topic=text(q.topic),
        duration=duration(ended - q.granted_at) if ended is not None else "",
        clip=clip_text,
        recorded=q.recordable and bool(clip),
        cut=q.cut,
        status=q.status if q.status in STATUSES else "open",
        status_label=STATUSES.get(q.status, STATUSES["open"]),
        answer=text(q.answer),
    )


def _place(commune: str) -> str:
    """ "Xã Trực Khang" signs its papers from "Trực Khang"."""
    for prefix in ("Xã ", "xã ", "Phường ", "Thị trấn "):
        if commune.startswith(prefix):
            return commune[len(prefix) :]
    return commune


def _local(at: float) -> datetime:
    return datetime.fromtimestamp(at, VIETNAM)
