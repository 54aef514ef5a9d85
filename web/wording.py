"""One console line for each event an operator cares about; None for the rest."""

from __future__ import annotations

from rooms import (
    BroadcastStateChanged,
    ConsentGiven,
    Event,
    FloorEnded,
    FloorGranted,
    FloorOvertime,
    HallMuted,
    HallStateChanged,
    HandRaised,
    MeetingClosed,
    MeetingOpened,
    RenditionSwitched,
    ScreenChanged,
    StreamEnded,
    StreamLive,
    StreamSuperseded,
)


def describe(event: Event) -> str | None:
    """The console line for `event`. Names and topics are left out on purpose: they are
    citizens' personal data, and the event log already keeps them."""
    match event:
        case HallStateChanged():
            return f"hall {event.hall_id}: {event.old} -> {event.new}"
        case BroadcastStateChanged(live=True):
            codecs = "/".join(c for c in (event.video_codec, event.audio_codec) if c)
            return f"broadcast {'taken over' if event.replaced else 'live'} ({codecs})"
        case BroadcastStateChanged():
            return "broadcast stopped"
        case RenditionSwitched():
            return f"hall {event.hall_id}: {event.rendition} picture"
        case ScreenChanged():
            return f"hall {event.hall_id} TV: picture {event.picture}, sound {event.sound}"
        case MeetingOpened():
            return f"meeting {event.meeting_id} opened"
        case MeetingClosed():
            return f"meeting {event.meeting_id} closed"
        case HandRaised():
            return f"hall {event.entry.hall_id} raised a hand ({event.entry.id})"
        case FloorGranted():
            return f"floor given to hall {event.entry.hall_id} ({event.entry.id})"
        case FloorEnded():
            return f"floor of hall {event.hall_id} ended by {event.by}: {event.reason}"
        case FloorOvertime():
            return f"floor {event.entry_id} is over its time"
        case HallMuted():
            return f"hall {event.hall_id} {'muted' if event.muted else 'unmuted'}"
        case ConsentGiven():
            return f"floor {event.entry_id}: recording consent {'yes' if event.consent else 'no'}"
        case StreamLive():
            taken = f", taking over {event.replaced}" if event.replaced else ""
            return f"stream {event.source} live ({event.session_id}{taken})"
        case StreamSuperseded():
            return f"stream {event.session_id} for {event.source} superseded by a newer one"
        case StreamEnded():
            return f"stream {event.source} ended ({event.session_id})"
    return None
