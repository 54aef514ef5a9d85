"""The program mix carries every input's tone while it plays, and nothing once it stops,
through loss, reordering, garbage, bursts and a change of source; it plugs into the bridge."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.rtp import RtpPacket

from bridge.codec import Codec
from bridge.consumer import Consumer
from bridge.producer import Producer
from media.mixer import Mixer
from tests.tones import PACE, Recorded, damaged, play, rms, rtp, tone_payloads, tone_share

LOW, HIGH = 440.0, 660.0
OPUS = Codec("opus", 48000, {"minptime": 10, "useinbandfec": 1})
HEARD = 0.2  # share of the power at a tone that is playing (two equal tones: ~0.5 each)
UNHEARD = 0.01
# Margin around a change: the mix's prebuffer and one tick, with room for a busy machine.
SETTLE = 0.3


async def no_pli(ssrc: int) -> None:
    return None


@pytest.mark.parametrize("frames_per_wake", [1, 2])
async def test_both_tones_are_heard_then_one_while_the_other_sends_silence_then_none(
    frames_per_wake: int,
) -> None:
    out = Recorded()
    mixer = Mixer(2, out, frames_per_wake=frames_per_wake)
    mixer.start()
    start = asyncio.get_running_loop().time() + 0.05
    low = rtp(tone_payloads(LOW, 2.0), ssrc=11, seq=65500)  # wraps around 65535
    high = rtp(tone_payloads(HIGH, 1.0) + tone_payloads(0, 1.0), ssrc=22, seq=300)
    await asyncio.gather(play(mixer.port(0), low, start), play(mixer.port(1), high, start))
    await asyncio.sleep(0.6)
    await mixer.close()

    both = out.between(start + SETTLE, start + 1.0)
    assert tone_share(both, LOW) > HEARD and tone_share(both, HIGH) > HEARD
    one = out.between(start + 1.0 + SETTLE, start + 2.0)
    assert tone_share(one, LOW) > 0.5 and tone_share(one, HIGH) < UNHEARD
    after = out.between(start + 2.0 + SETTLE, start + 2.6)
    assert len(after) and rms(after) < 30
    assert out.numbering_is_continuous()
    stats = mixer.stats()
    assert stats.frames_out == len(out.packets)
    assert [i.packets_in for i in stats.inputs] == [100, 100]
    assert all(i.lost == 0 and i.decode_errors == 0 for i in stats.inputs)
    assert len({p.ssrc for _, p in out.packets}) == 1 and out.packets[0][1].payload_type == 111


async def test_an_input_that_never_sends_adds_nothing_and_a_stopped_one_goes_quiet() -> None:
    out = Recorded()
    mixer = Mixer(3, out)
    mixer.start()
    start = asyncio.get_running_loop().time() + 0.05
    await play(mixer.port(2), rtp(tone_payloads(HIGH, 1.0)), start)
    await asyncio.sleep(0.6)
    await mixer.close()

    playing = out.between(start + SETTLE, start + 1.0)
    assert tone_share(playing, HIGH) > 0.5 and tone_share(playing, LOW) < UNHEARD
    after = out.between(start + 1.0 + SETTLE, start + 1.6)
    assert len(after) and tone_share(after, HIGH) < UNHEARD and rms(after) < 30
    assert [i.packets_in for i in mixer.stats().inputs] == [0, 0, 50]


async def test_loss_reordering_and_garbage_cost_only_their_own_packets() -> None:
    out = Recorded()
    mixer = Mixer(2, out)
    mixer.start()
    start = asyncio.get_running_loop().time() + 0.05
    slots, lost = damaged(rtp(tone_payloads(LOW, 1.6), ssrc=5))
    clean = rtp(tone_payloads(HIGH, 1.6), ssrc=6)
    await asyncio.gather(play(mixer.port(0), slots, start), play(mixer.port(1), clean, start))
    await asyncio.sleep(0.3)
    await mixer.close()

    heard = out.between(start + SETTLE, start + 1.6)
    assert tone_share(heard, LOW) > HEARD and tone_share(heard, HIGH) > HEARD
    assert out.numbering_is_continuous()
    bad = mixer.stats().inputs[0]
    # Not every loss need count as one: on a busy machine a late feed can make some of
    # them part of a rebuffer or a cut; the tones above are what matters.
    assert 0 < bad.lost <= lost + bad.late and bad.decode_errors > 0, bad
    assert bad.packets_played > 50 and bad.resets == 0, bad


async def test_a_source_that_jumps_in_numbering_keeps_being_heard() -> None:
    out = Recorded()
    mixer = Mixer(2, out)
    mixer.start()
    start = asyncio.get_running_loop().time() + 0.05
    tone = tone_payloads(LOW, 2.4)
    # Three stretches: a jump far ahead, then a new SSRC that starts a little behind.
    low = (
        rtp(tone[:40], ssrc=1, seq=1000, ts=0)
        + rtp(tone[40:80], ssrc=1, seq=31000, ts=123456789)
        + rtp(tone[80:], ssrc=2, seq=31030, ts=5)
    )
    high = rtp(tone_payloads(HIGH, 2.4), ssrc=3)
    await asyncio.gather(play(mixer.port(0), low, start), play(mixer.port(1), high, start))
    await asyncio.sleep(0.3)
    await mixer.close()

    for begin in (0.0, 0.8, 1.6):
        stretch = out.between(start + begin + SETTLE, start + begin + 0.8)
        assert tone_share(stretch, LOW) > HEARD and tone_share(stretch, HIGH) > HEARD, begin
    assert mixer.stats().inputs[0].resets == 2


async def test_an_input_that_bursts_ahead_is_heard_at_most_a_fifth_of_a_second_late() -> None:
    out = Recorded()
    mixer = Mixer(2, out)
    mixer.start()
    start = asyncio.get_running_loop().time() + 0.05
    burst = rtp(tone_payloads(LOW, 1.0))  # a whole second arrives at once, then nothing
    high = rtp(tone_payloads(HIGH, 1.2), ssrc=9)
    player = asyncio.ensure_future(play(mixer.port(1), high, start))
    await asyncio.sleep(max(0.0, start + 0.2 - asyncio.get_running_loop().time()))
    for packet in burst:
        await mixer.port(0).send(packet)
    await player
    await mixer.close()

    later = out.between(start + 0.2 + 0.5, start + 1.2)
    assert tone_share(later, HIGH) > 0.5 and tone_share(later, LOW) < UNHEARD
    assert mixer.stats().inputs[0].dropped_behind > 30


async def test_the_mixer_plugs_into_bridge_consumers_and_producers() -> None:
    """A hall's track reaches the mix through a Consumer, as the bridge wires it, and the
    mix goes on through a Producer to a listener's Consumer."""
    heard = Recorded()

    class Listener:
        payload_type, ssrc, started = 111, 77, True

        async def send(self, packet: RtpPacket) -> None:
            heard(packet)

    hall = Producer("audio", OPUS, no_pli)
    program = Producer("audio", OPUS, no_pli)
    listener = Consumer("audio", Listener(), OPUS)
    listener.attach(program)
    listener.start()
    mixer = Mixer(2, program.receive)
    into_mix = Consumer("audio", mixer.port(0), OPUS)
    into_mix.attach(hall)
    into_mix.start()
    mixer.start()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    for i, packet in enumerate(rtp(tone_payloads(LOW, 1.0), ssrc=4242)):
        await asyncio.sleep(max(0.0, start + i * PACE - loop.time()))
        hall.receive(packet)
    await asyncio.sleep(0.2)
    await mixer.close()
    for closing in (into_mix, listener, hall, program):
        closing.close()

    assert tone_share(heard.between(start + SETTLE, start + 1.0), LOW) > 0.5
    assert heard.numbering_is_continuous() and {p.ssrc for _, p in heard.packets} == {77}
    assert mixer.stats().inputs[0].packets_in == 50


async def test_the_mixer_runs_only_between_start_and_close() -> None:
    out = Recorded()
    mixer = Mixer(1, out)
    packets = rtp(tone_payloads(LOW, 0.2))
    await mixer.port(0).send(packets[0])  # before start: dropped
    await asyncio.sleep(0.1)
    assert out.packets == [] and not mixer.started
    mixer.start()
    mixer.start()
    assert mixer.started
    await play(mixer.port(0), packets[1:], asyncio.get_running_loop().time())
    await asyncio.sleep(0.1)
    await mixer.close()
    await mixer.close()
    sent = len(out.packets)
    await mixer.port(0).send(packets[0])
    await asyncio.sleep(0.1)
    mixer.start()
    assert len(out.packets) == sent > 5 and not mixer.started
    assert mixer.stats().inputs[0].packets_in == 9
