"""A GStreamer webrtcbin client for the interop tests: a WHEP viewer or a WHIP publisher.

GStreamer's Python bindings exist only for Debian's /usr/bin/python3
(python3-gi), not the project's venv, so this runs on its own:

    /usr/bin/python3 tests/interop_gst.py whep URL --bearer=KEY [--seconds S]
    /usr/bin/python3 tests/interop_gst.py whip URL --bearer=KEY --codec H264|VP8 [--mtu 1400]

Signaling is one HTTP POST of a complete offer (no trickle ICE), as RFC 9725
allows. ICE is kept on 127.0.0.1. It prints one JSON object on stdout with
what it did: for a viewer the codec, the pictures decoded and the frame
numbers and ages read from their stamps (tests/pictures.py's Picture layout);
for a publisher the frames pushed.
It uses only the standard library and GStreamer, so it needs no venv.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

# tests/pictures.py's Picture stamp, copied because Debian's python3 has no numpy: the send
# time in ms in the low 40 bits, the frame number above it.
NUMBER_BITS, TIME_BITS = 24, 40
WIDTH, HEIGHT, FPS = 320, 240, 30
VIDEO_CAPS = {
    "VP8": "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
    "H264": "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
    "packetization-mode=(string)1,profile-level-id=(string)42e01f",
}
PAYLOAD = {"VP8": 96, "H264": 102}
OPUS_CAPS = "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000"


def block_of(width: int) -> int:
    return 8 if width < 640 else 16  # as tests/pictures.py's Picture


def read_stamp(gray: bytes, stride: int, width: int) -> tuple[int, int]:
    """Picture.read without numpy: the frame number and send time (ms) in a GRAY8 picture."""
    block = block_of(width)
    per_row, q = width // block, block // 4
    value = 0
    for bit in range(NUMBER_BITS + TIME_BITS):
        row, col = divmod(bit, per_row)
        total = count = 0
        for y in range(row * block + q, (row + 1) * block - q):
            start = y * stride + col * block + q
            chunk = gray[start : start + block - 2 * q]
            total += sum(chunk)
            count += len(chunk)
        if total / count > 128:
            value |= 1 << bit
    return value >> TIME_BITS, value & ((1 << TIME_BITS) - 1)


def now_ms() -> int:
    return int(time.time() * 1000) % (1 << TIME_BITS)


def stamped_picture(number: int) -> bytes:
    """An I420 picture: random texture (so packets fill the MTU) under Picture's stamp."""
    block = block_of(WIDTH)
    per_row = WIDTH // block
    top = -(-(NUMBER_BITS + TIME_BITS) // per_row) * block
    y = bytearray(bytes(top * WIDTH) + os.urandom(WIDTH * (HEIGHT - top)))
    value = now_ms() | ((number % (1 << NUMBER_BITS)) << TIME_BITS)
    for bit in range(NUMBER_BITS + TIME_BITS):
        row, col = divmod(bit, per_row)
        shade = bytes([255 if (value >> bit) & 1 else 0]) * block
        for line in range(row * block, (row + 1) * block):
            start = line * WIDTH + col * block
            y[start : start + block] = shade
    return bytes(y) + bytes([128]) * (WIDTH * HEIGHT // 2)


class Client:
    """One webrtcbin, signaled by a single POST of its complete offer."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.key = url, key
        self.pipeline = Gst.Pipeline.new("interop")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipeline.add(self.webrtc)
        # Only loopback: tests never send a packet anywhere else. PyGObject drops a
        # reference it does not own when these wrappers die: keep them for good.
        self._ice = self.webrtc.get_property("ice-agent")
        self._agent = self._ice.get_property("agent")
        address = Nice.Address.new()
        address.set_from_string("127.0.0.1")
        self._agent.add_local_address(address)
        self._ice.set_property("ice-tcp", False)
        self.loop = GLib.MainLoop()
        self.report: dict[str, Any] = {"error": None}
        self.webrtc.connect("on-negotiation-needed", lambda *_: None)
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_error)

    def _on_error(self, _bus: Any, message: Gst.Message) -> None:
        error, debug = message.parse_error()
        self.fail(f"{error.message} ({debug})")

    def fail(self, reason: str) -> None:
        if self.report["error"] is None:
            self.report["error"] = reason
        self.loop.quit()

    def negotiate(self) -> None:
        promise = Gst.Promise.new_with_change_func(self._on_offer, None)
        self.webrtc.emit("create-offer", None, promise)

    def _on_offer(self, promise: Gst.Promise, _data: Any) -> None:
        promise.wait()
        # Through python3-gst-1.0's overrides, and with the reply held while the
        # offer is used: otherwise webrtcbin finds the offer's SDP already freed.
        reply = promise.get_reply()
        offer = reply["offer"]
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())
        del reply

    def _on_gathering(self, *_: Any) -> None:
        state = self.webrtc.get_property("ice-gathering-state")
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE and "offer" not in self.report:
            offer = self.webrtc.get_property("local-description").sdp.as_text()
            self.report["offer_setup"] = sorted(set(re.findall(r"a=setup:(\w+)", offer)))
            threading.Thread(target=self._post, args=(offer,), daemon=True).start()

    def _post(self, offer: str) -> None:
        request = urllib.request.Request(
            self.url,
            data=offer.encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/sdp"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = response.read().decode()
        except urllib.error.HTTPError as exc:
            GLib.idle_add(self.fail, f"HTTP {exc.code}: {exc.read().decode().strip()}")
            return
        except OSError as exc:
            GLib.idle_add(self.fail, f"POST {self.url} failed: {exc}")
            return
        GLib.idle_add(self._apply_answer, answer)

    def _apply_answer(self, answer: str) -> bool:
        self.report["answer_setup"] = sorted(set(re.findall(r"a=setup:(\w+)", answer)))
        _, message = GstSdp.SDPMessage.new_from_text(answer)
        answer_type = GstWebRTC.WebRTCSDPType.ANSWER
        description = GstWebRTC.WebRTCSessionDescription.new(answer_type, message)
        self.webrtc.emit("set-remote-description", description, Gst.Promise.new())
        return False

    def run(self, seconds: float) -> dict[str, Any]:
        self.pipeline.set_state(Gst.State.PLAYING)
        self.negotiate()
        GLib.timeout_add(int(seconds * 1000), self.loop.quit)
        self.loop.run()
        self.report["connection"] = self.webrtc.get_property("connection-state").value_nick
        self.pipeline.set_state(Gst.State.NULL)
        return self.report


class Viewer(Client):
    """Receives VP8 or H.264 video and Opus audio, decodes them, reads the stamps."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(url, key)
        recvonly = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
        video = Gst.Caps.from_string(f"{VIDEO_CAPS['VP8']};{VIDEO_CAPS['H264']}")
        self.webrtc.emit("add-transceiver", recvonly, video)
        self.webrtc.emit("add-transceiver", recvonly, Gst.Caps.from_string(OPUS_CAPS))
        video_transceiver = self.webrtc.emit("get-transceiver", 0)
        video_transceiver.set_property("do-nack", True)  # ask the bridge to resend lost packets
        self.webrtc.connect("pad-added", self._on_pad)
        self.report.update(frames=0, numbers=[], ages_ms=[], audio_buffers=0, codec=None)

    def _on_pad(self, _webrtc: Any, pad: Gst.Pad) -> None:
        if pad.direction != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps().get_structure(0)
        kind = caps.get_string("media")
        if kind == "video":
            codec = caps.get_string("encoding-name")
            self.report["codec"] = codec
            # Ask for a keyframe after a loss rather than show a broken picture, as
            # browsers do; the bridge answers with one from the chair.
            depay = "request-keyframe=true wait-for-keyframe=true"
            decode = {
                "VP8": f"rtpvp8depay {depay} ! vp8dec",
                "H264": f"rtph264depay {depay} ! avdec_h264",
            }[codec]
            chain = f"{decode} ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=sink"
        else:
            chain = "rtpopusdepay ! opusdec ! audioconvert ! appsink name=sink"
        bin_ = Gst.parse_bin_from_description(chain, True)
        sink = bin_.get_by_name("sink")
        sink.set_property("emit-signals", True)
        sink.set_property("sync", False)
        sink.connect("new-sample", self._on_video if kind == "video" else self._on_audio)
        self.pipeline.add(bin_)
        bin_.sync_state_with_parent()
        pad.link(bin_.get_static_pad("sink"))

    def _on_video(self, sink: Any) -> Gst.FlowReturn:
        sample = sink.emit("pull-sample")
        structure = sample.get_caps().get_structure(0)
        width = structure.get_value("width")
        stride = (width + 3) // 4 * 4  # GRAY8 rows are 4-byte aligned
        ok, info = sample.get_buffer().map(Gst.MapFlags.READ)
        if ok:
            top = 4 * block_of(width)  # more than the stamp's rows
            number, sent_ms = read_stamp(bytes(info.data[: stride * top]), stride, width)
            sample.get_buffer().unmap(info)
            self.report["frames"] += 1
            self.report["numbers"].append(number)
            self.report["ages_ms"].append(now_ms() - sent_ms)
        return Gst.FlowReturn.OK

    def _on_audio(self, sink: Any) -> Gst.FlowReturn:
        sink.emit("pull-sample")
        self.report["audio_buffers"] += 1
        return Gst.FlowReturn.OK


class Publisher(Client):
    """Sends stamped H.264 or VP8 pictures and a 440 Hz Opus tone."""

    def __init__(self, url: str, key: str, codec: str, mtu: int) -> None:
        super().__init__(url, key)
        encoder = {
            "H264": "openh264enc bitrate=2000000 gop-size=30 ! h264parse ! "
            f"rtph264pay config-interval=-1 aggregate-mode=zero-latency mtu={mtu}",
            "VP8": "vp8enc deadline=1 target-bitrate=2000000 keyframe-max-dist=30 ! "
            f"rtpvp8pay mtu={mtu}",
        }[codec]
        video = Gst.parse_bin_from_description(
            "appsrc name=src is-live=true format=time do-timestamp=true "
            f'caps="video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate={FPS}/1" ! '
            f"queue ! {encoder} ! "
            f'capsfilter caps="application/x-rtp,media=video,payload={PAYLOAD[codec]}"',
            True,
        )
        audio = Gst.parse_bin_from_description(
            "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! audioconvert ! "
            "audioresample ! opusenc ! rtpopuspay ! "
            'capsfilter caps="application/x-rtp,media=audio,payload=111"',
            True,
        )
        for bin_ in (video, audio):
            self.pipeline.add(bin_)
            bin_.link(self.webrtc)
        # The offer is made before the encoder has run, so the payloader's caps
        # carry no fmtp yet: name packetization-mode 1 and a profile here.
        # The profile is whatever the encoder makes, so it is left out (aiortc then
        # assumes constrained baseline, which openh264enc makes).
        video_caps = VIDEO_CAPS[codec].replace(",profile-level-id=(string)42e01f", "")
        for transceiver, caps in zip(self._transceivers(), (video_caps, OPUS_CAPS), strict=True):
            transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
            transceiver.set_property("codec-preferences", Gst.Caps.from_string(caps))
        self.source = video.get_by_name("src")
        self.report.update(frames_pushed=0, mtu=mtu, codec=codec)

    def _transceivers(self) -> list[Any]:
        found, index = [], 0
        while (transceiver := self.webrtc.emit("get-transceiver", index)) is not None:
            found.append(transceiver)
            index += 1
        return found

    def _push(self) -> bool:
        number = self.report["frames_pushed"]
        buffer = Gst.Buffer.new_wrapped(stamped_picture(number))
        self.source.emit("push-buffer", buffer)
        self.report["frames_pushed"] = number + 1
        return True

    def run(self, seconds: float) -> dict[str, Any]:
        GLib.timeout_add(1000 // FPS, self._push)
        return super().run(seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("whep", "whip"))
    parser.add_argument("url")
    parser.add_argument("--bearer", required=True, help="the key (it may start with -)")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--codec", choices=tuple(VIDEO_CAPS), default="H264")
    parser.add_argument("--mtu", type=int, default=1400)  # GStreamer's own default
    args = parser.parse_args()
    Gst.init(None)
    if args.mode == "whep":
        client: Client = Viewer(args.url, args.bearer)
    else:
        client = Publisher(args.url, args.bearer, args.codec, args.mtu)
    report = client.run(args.seconds)
    print(json.dumps(report), flush=True)
    sys.exit(1 if report["error"] else 0)


if __name__ == "__main__":
    main()
