"""runtime/dispatch.py: a burst of events is saved once, before any of its actions."""
from __future__ import annotations

from ekka_agent.core import events as ev
from ekka_agent.runtime.dispatch import step_many


class Core:
    def __init__(self):
        self.dirty = False

    def handle(self, event, now):
        self.dirty = True
        return [ev.Log("info", "handled %s" % event)]

    def snapshot(self):
        return {"saved": True}


class Carrier:
    def __init__(self):
        self.calls = []

    def persist(self, snapshot):
        self.calls.append(("persist", snapshot()))

    def log(self, level, text):
        self.calls.append(("log", text))


def test_a_burst_is_saved_once_before_its_first_action():
    core, c = Core(), Carrier()
    step_many(core, ["a", "b", "c"], 0.0, c)
    assert c.calls == [("persist", {"saved": True}), ("log", "handled a"), ("log", "handled b"),
                       ("log", "handled c")]
    assert core.dirty is False


def test_a_timer_due_in_the_same_turn_goes_after_what_arrived():
    # Woken late, the loop hands over the tick and the messages read meanwhile together: the
    # messages go first (an ack waiting in the socket answers the probe the tick would judge).
    core, c = Core(), Carrier()
    tick, ack, ack2 = ev.Tick(), ev.Received("b", "ack"), ev.Received("c", "ack")
    step_many(core, [tick, ack, tick, ack2], 0.0, c)
    assert [t for k, t in c.calls if k == "log"] == ["handled %s" % e for e in (ack, ack2, tick)]
