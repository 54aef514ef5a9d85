"""Publish to a WHIP URL with FFmpeg's own `whip` muxer (through PyAV), as a third-party chair.

Run as `python -m tests.interop_ffmpeg URL --bearer=KEY [--cert C --key K] [--pkt-size N]`.
Video is H.264 (libx264, baseline, no B-frames) of tests/pictures.py's Picture,
stamped with each frame's number and send time; audio is a 440 Hz Opus tone. It prints
`frames N` lines as it goes and `done N` at the end, or FFmpeg's error.
"""

from __future__ import annotations

import argparse
import fractions
import sys
import time

import av
import numpy as np

from tests.pictures import Picture, now_ms

WIDTH, HEIGHT, FPS = 640, 480, 30
RATE, SAMPLES = 48000, 960
TONE_HZ = 440.0


def picture(drawing: Picture, number: int) -> av.VideoFrame:
    """Frame `number` of tests/pictures.py's Picture: textured (full-size RTP packets, as
    a camera gives) and stamped, so a hall can judge it against what it should be."""
    frame = drawing.draw(number, now_ms())
    frame.pts = number
    frame.time_base = fractions.Fraction(1, FPS)
    return frame


def tone(index: int) -> av.AudioFrame:
    t = (np.arange(SAMPLES) + index * SAMPLES) / RATE
    wave = (0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
    frame = av.AudioFrame.from_ndarray(np.vstack([wave, wave]), format="fltp", layout="stereo")
    frame.sample_rate = RATE
    frame.pts = index * SAMPLES
    frame.time_base = fractions.Fraction(1, RATE)
    return frame


def publish(url: str, options: dict[str, str], seconds: float) -> int:
    container = av.open(url, mode="w", format="whip", options=options)
    # Audio first, as FFmpeg's own command line does with `-map 1:a -map 0:v`,
    # so the bridge sees an audio-first offer.
    audio = container.add_stream("libopus", rate=RATE, layout="stereo")
    video = container.add_stream("libx264", rate=FPS)
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    video.bit_rate = 2_000_000
    drawing = Picture(WIDTH, HEIGHT)
    video.codec_context.options = {
        "profile": "baseline",
        "tune": "zerolatency",
        "preset": "ultrafast",
        "g": str(FPS),  # a keyframe every second, as the README asks of encoders
        "bf": "0",
    }
    began = time.monotonic()
    frames = 0
    audio_index = 0
    while frames < seconds * FPS:
        wait = began + frames / FPS - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        while audio_index * SAMPLES / RATE <= frames / FPS:
            for packet in audio.encode(tone(audio_index)):
                container.mux(packet)
            audio_index += 1
        for packet in video.encode(picture(drawing, frames)):
            container.mux(packet)
        frames += 1
        if frames % FPS == 0:
            print(f"frames {frames}", flush=True)
    container.close()
    return frames


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--bearer", required=True, help="the key (it may start with -)")
    parser.add_argument("--cert")
    parser.add_argument("--cert-key")
    parser.add_argument("--pkt-size", type=int)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    options = {"authorization": args.bearer, "handshake_timeout": "10000"}
    if args.cert:
        options |= {"cert_file": args.cert, "key_file": args.cert_key}
    if args.pkt_size:
        options["pkt_size"] = str(args.pkt_size)
    try:
        frames = publish(args.url, options, args.seconds)
    except av.FFmpegError as exc:
        print(f"error {exc}", flush=True)
        sys.exit(1)
    print(f"done {frames}", flush=True)


if __name__ == "__main__":
    main()
