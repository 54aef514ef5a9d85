"""The secretary's page and the register page in real Chromium: a note stamped with meeting
time, a question's status and answer set during the meeting, and the register showing it."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import docx
import pytest
from aiohttp.test_utils import TestServer

from rooms import Entry, FloorGranted, MeetingOpened
from tests.chromium import open_page, url
from web.config import Settings
from web.keys import REGISTER

pytestmark = pytest.mark.browser

NAME = '<img src=x onerror="window.__xss=1">'


class Socket:
    """A page socket driven from the test, for the chair and a hall."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.state: dict[str, Any] = {}

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def read_until(self, check: Any) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if data["type"] == "state":
                self.state = data
                if check(data):
                    return


async def test_the_secretary_notes_and_answers_and_the_register_shows_it(
    browser: Any, server: TestServer, settings: Settings
) -> None:
    async with aiohttp.ClientSession() as http:
        chair = Socket(await http.ws_connect(url(server, f"/ws?key={settings.keys.chair}")))
        hall = Socket(await http.ws_connect(url(server, f"/ws?key={settings.halls[1].key}")))
        await chair.send(type="open-meeting", title="Họp dân tháng 11")
        await chair.read_until(lambda s: s["meeting"] is not None)
        await hall.send(type="raise", name=NAME, topic="Đèn đường thôn 2")
        await chair.read_until(lambda s: len(s["queue"]) == 1)
        await chair.send(type="grant", entry="e1")
        await chair.read_until(lambda s: s["floor"] is not None)

        page = await open_page(browser, url(server, f"/secretary?key={settings.keys.secretary}"))
        await page.wait_for_function("() => window.secretaryStats.state === 'meeting'")
        row = page.locator('.question[data-entry="e1"]')
        await row.wait_for()
        assert await row.locator(".q-name").text_content() == NAME  # shown as text
        assert await row.get_attribute("data-state") == "floor"

        await page.fill("#note-text", "Thôn 2 đề nghị lắp đèn <b>trước Tết</b>")
        await page.click("#note-add")
        note = page.locator("#notes li").first
        await note.wait_for()
        assert "Thôn 2 đề nghị lắp đèn <b>trước Tết</b>" in (await note.text_content() or "")
        assert (await note.locator(".note-time").text_content() or "").startswith("0:0")
        assert await page.input_value("#note-text") == ""

        await row.locator(".q-status-select").select_option("follow-up")
        await row.locator(".q-answer").fill("Xã khảo sát trong tuần")
        await row.locator(".q-status-save").click()
        await page.wait_for_selector('.question[data-entry="e1"][data-status="follow-up"]')

        # The floor moves on; a topic fixed afterwards goes to the register, not the room.
        await chair.send(type="end")
        await chair.read_until(lambda s: s["floor"] is None)
        await page.wait_for_selector('.question[data-entry="e1"][data-state="asked"]')
        await row.locator(".q-edit").click()
        await row.locator(".q-topic-input").fill("Đèn đường liên thôn")
        await row.locator(".q-fix-save").click()
        await page.wait_for_function(
            """() => document.querySelector('.question[data-entry="e1"] .q-topic')
                .textContent === 'Đèn đường liên thôn'"""
        )
        assert await row.locator(".q-name").text_content() == NAME

        # The minutes of the open meeting download as a DOCX that lists the question.
        docx_link = page.locator("#meetings li").first.locator("a", has_text="DOCX")
        async with page.expect_download() as download_info:
            await docx_link.click()
        download = await download_info.value
        assert download.suggested_filename.startswith("bien-ban_m-")
        minutes = docx.Document(await download.path())
        text = "\n".join(p.text for p in minutes.paragraphs)
        assert f"{NAME}: Đèn đường liên thôn" in text
        assert "Trả lời: Xã khảo sát trong tuần" in text
        assert "Thôn 2 đề nghị lắp đèn <b>trước Tết</b>" in text
        # ...and the download shows in the access log on the page.
        await page.locator("#access-log tr", has_text="Tải về").first.wait_for()
        logged = await page.locator("#access-log tr", has_text="Tải về").first.text_content()
        assert "Thư ký" in (logged or "") and "minutes.docx:m-" in (logged or "")

        # A question from a meeting a month ago, never answered: overdue by now.
        old = time.time() - 30 * 86400
        server.app[REGISTER].follow(
            "m-old",
            [
                MeetingOpened("m-old", "Họp dân tháng trước", at=old),
                FloorGranted(Entry("e1", "thon-4", "Ông Tư", "Cầu", old), 180, "chair", at=old),
            ],
        )
        await page.click("#register-link")
        await page.wait_for_function("() => window.registerStats.phase === 'ready'")
        overdue = page.locator('#rows tr[data-entry="m-old/e1"]')
        assert await overdue.get_attribute("data-state") == "overdue"
        assert "quá hạn" in (await overdue.locator(".due").text_content() or "")
        assert await overdue.evaluate("tr => getComputedStyle(tr).backgroundColor") != (
            await page.locator("#rows tr").first.evaluate(
                "tr => getComputedStyle(tr).backgroundColor"
            )
        )
        line = page.locator("#rows tr").first
        assert await line.locator(".name").text_content() == NAME
        assert await line.locator("select.q-state").input_value() == "follow-up"
        assert await line.locator("input.answer").input_value() == "Xã khảo sát trong tuần"
        assert await line.get_attribute("data-state") == "pending"
        href = await page.get_attribute("#xlsx", "href")
        assert href == f"/register.xlsx?key={settings.keys.secretary}"

        # Answered on the register page; the filter then shows it among the answered.
        await line.locator("select.q-state").select_option("answered")
        await line.locator("button.save").click()
        await page.wait_for_function("() => document.querySelector('#notice').textContent !== ''")
        await page.select_option("#filter", "answered")
        assert await page.locator("#rows tr").count() == 1
        await page.select_option("#filter", "overdue")
        assert await page.locator("#rows tr").count() == 1
        assert await page.locator("#rows tr .name").text_content() == "Ông Tư"
        assert await page.evaluate("window.__xss") is None
        assert page.errors == []
        await chair.ws.close()
        await hall.ws.close()
