"""The bridge's incoming queue and its oversize handling, without a broker, on a fake clock."""

from __future__ import annotations

import json
import logging

import aiomqtt

from controller import config
from controller.mqtt import Bridge
from controller.mqtt._inbox import MAX_QUEUED, MAX_TOPIC, QUIET_S, Inbox, Oversize
from controller.mqtt._messages import MAX_PAYLOAD
from tests.helpers import Clock


def message(topic: str, payload: bytes) -> aiomqtt.Message:
    return aiomqtt.Message(topic, payload, qos=0, retain=False, mid=0, properties=None)


class TestInbox:
    async def test_inbox_replaces_an_oversize_payload_by_a_note(self):
        """A 1 MB payload is not kept: the queue holds its topic and size only."""
        q = Inbox(MAX_QUEUED)
        q.put_nowait(message("v2h/x/set/reserve_soc", b"9" * 1_000_000))
        q.put_nowait(message("v2h/x/set/reserve_soc", b"5" * MAX_PAYLOAD))  # at the limit: kept
        assert q.get_nowait() == Oversize("v2h/x/set/reserve_soc", 1_000_000)
        assert q.get_nowait().payload == b"5" * MAX_PAYLOAD

    async def test_inbox_cuts_an_oversize_topic(self):
        """A topic longer than MAX_TOPIC makes a note too, with the topic cut."""
        q = Inbox(MAX_QUEUED)
        q.put_nowait(message("v2h/x/set/" + "a" * 60_000, b"1"))
        note = q.get_nowait()
        assert isinstance(note, Oversize) and len(note.topic) == MAX_TOPIC

    async def test_inbox_full_drops_and_counts_without_raising(self, caplog):
        """Past MAX_QUEUED entries a message is dropped and counted; nothing raises (aiomqtt
        would log a warning per message) and the queue's payload bytes stay bounded."""
        q = Inbox(MAX_QUEUED)
        with caplog.at_level(logging.DEBUG):
            for _ in range(MAX_QUEUED + 500):
                q.put_nowait(message("v2h/x/set/reserve_soc", b"5" * 2000))
        assert q.qsize() == MAX_QUEUED and q.dropped == 500 and not caplog.records
        held = [q.get_nowait() for _ in range(MAX_QUEUED)]
        assert sum(len(getattr(m, "payload", b"")) for m in held) <= MAX_QUEUED * MAX_PAYLOAD


class TestOversize:
    def test_oversize_rejected_with_reason_logged_once_per_episode(self, caplog):
        """500 oversize payloads: an error with the reason on the error topic (within the
        rate limit), one warning when the flood starts, one line when it has been quiet for
        QUIET_S, and a new flood is a new episode."""
        clock = Clock(100.0)
        bridge = Bridge(config.defaults(("site.id=x",)), lambda cmd: None, clock=clock)
        with caplog.at_level(logging.DEBUG, logger="v2h.mqtt"):
            replies = []
            for _ in range(500):
                clock.t += 0.01
                replies.append(bridge.handle_oversize("reserve_soc", 1_000_000))
            errors = [json.loads(r[1]) for r in replies if r is not None]
            assert all(r is None or r[0] == "error" for r in replies)
            assert {"name": "reserve_soc", "reason": f"payload too large (1000000 bytes > "
                    f"{MAX_PAYLOAD}): dropped unread"} in errors
            # the burst of 40, 20/s for 5 s, and a "rate limited" note a second
            assert 140 <= len(errors) <= 146
            assert bridge.oversize == 500
            bridge._episodes.tick()  # still flooding: no end yet
            clock.t += QUIET_S
            bridge._episodes.tick()  # quiet long enough: the end
            bridge.handle_oversize("mode", 5000)  # a new episode
        msgs = [(r.levelno, r.getMessage()) for r in caplog.records]
        assert msgs == [
            (logging.WARNING, "fault start mqtt_oversize command payload of 1000000 bytes for "
                              f"'reserve_soc' dropped unread (limit {MAX_PAYLOAD} bytes)"),
            (logging.INFO, "fault end mqtt_oversize: 500 in the episode"),
            (logging.WARNING, "fault start mqtt_oversize command payload of 5000 bytes for "
                              f"'mode' dropped unread (limit {MAX_PAYLOAD} bytes)"),
        ]
