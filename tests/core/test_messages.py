"""The wire messages: every kind round-trips, the previous release's frames decode, and any
random or mutated frame gives a message or a MessageError naming what is wrong, never a crash."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ekka_agent.core import messages as m
from ekka_agent.core.wire import FrameDecoder, FrameError, encode

REC = {"node": "a@h", "guid": [1700000000000000, "a@h"], "status": "up", "version": 3, "removed": False}
ENTRY = {"v": "x", "ver": [1700000000000, 0, "a@h"], "del": False}
EP = [2, "0123456789ab"]

EXAMPLES = [
    m.Heartbeat("c1", 42), m.Heartbeat("c1", 42, first=True), m.Heartbeat("c1", 42, swim=True),
    m.SwimMessage({"t": "swim.ack", "v": 1, "seq": 3, "updates": []}), m.Sync("c1", [REC]), m.Sync("c1", [REC], want=[3, 7]),
    m.SyncSummary("c1", [0] * 64), m.JoinRequest(REC["guid"]),
    m.JoinAccepted("c1", [REC], {"k": ENTRY}), m.NotMember("c1", 3),
    m.KvWrite({"k": ENTRY}), m.KvWrite({"k": ENTRY}, 7, EP), m.KvAck(7),
    m.HealHello(1, False, "inc", None, True, EP, EP), m.HealEpoch(EP, ask=True), m.HealReport(True, ["b@h"]),
    m.HealViewRequest(3), m.HealView(3, None, [], ["b@h"]), m.HealView(3, EP, ["c@h"], [], ["b@h"]),
    m.HealPlan("h-1", ["a@h"], ["b@h"], "a@h", [], 3), m.HealAdopt("h-1", EP, ["a@h", "b@h"], ["b@h"], False),
    m.HealRejoin("h-1", EP, {"k": ENTRY}, "a@h", ["a@h", "b@h"], ["b@h"]), m.HealAck("h-1"),
    m.HealRound("h-1", ["b@h"]), m.HealAlarms([{"name": "partition", "message": "split"}]),
    m.CleanQuery(1, "b@h"), m.CleanAnswer(1, True),
    m.LockRequest("a/b/1", "reserve", "r", "o", "quorum", 5.0, 123, 4), m.LockCommit("a/b/1", "r", "o", 4),
    m.LockRenew("a/b/1", "r", "o", 5), m.LockRelease("a/b/1/rb", "r", "o", only_op="a/b/1"),
    m.LockReply("a/b/1", True, phase="reserve", counter=3, fast=4), m.LockReply("x", False, error="locked"),
    m.LockHandover("a/handover/1", {"r": {"owner": "o", "node": "b@h", "strategy": "quorum", "token": 4, "lease": 5,
                                         "left": 2.5}}, {"r": 4}),
    m.LockHandoverAck("a/handover/1"), m.LockHandoverAsk("a/handover/2", REC),
    m.DiscoveryProbe(1), m.DiscoveryInfo(1, "c1", 2, [1, "a@h"], True, ["a@h"], False),
    m.Hello("a@h", "c", "cluster", "n"), m.Auth("a@h", "c", "n", "mac", protocol=2, protocol_min=1, agent="0.2.0"),
    m.HandshakeOk("mac"), m.Refuse("bad_cookie"), m.Refuse("cluster_name", "a@h", "c", protocol=2),
    m.ReproveAsk("n1"), m.ReproveAnswer("n1", "n2", "mac"), m.ReproveConfirm("n2", "mac"),
]


def test_every_kind_has_an_example_and_round_trips_through_json():
    assert {type(e).KIND for e in EXAMPLES} == set(m.KINDS)
    for e in EXAMPLES:
        assert m.from_wire(json.loads(json.dumps(m.to_wire(e)))) == e


def test_the_previous_release_format_decodes():
    old = {"t": "lock_req", "id": "a/b/1", "ph": "one", "res": "r", "owner": "o", "strat": "leader",
           "lease": 15, "mv": 9}
    msg = m.from_wire(old)
    assert isinstance(msg, m.LockRequest) and msg.token is None and msg.strategy == "leader"
    assert m.to_wire(msg) == dict(old, v=m.MESSAGE_FORMAT)


@pytest.mark.parametrize("obj,reason", [
    ([], "a JSON object"),
    ({"cid": "x"}, "without a kind"),
    ({"t": "gossip"}, "unknown message kind 'gossip'"),
    ({"t": "hb", "cid": "c"}, "hb: field 'dg' (digest) is missing"),
    ({"t": "hb", "cid": "c", "dg": "7"}, "hb: field 'dg' (digest) must be an integer, not str"),
    ({"t": "hb", "cid": "c", "dg": True}, "must be an integer, not bool"),
    ({"t": "sync", "cid": "c", "records": [{"node": "a"}]}, "field 'records' (records) item 0 has no 'guid'"),
    ({"t": "kv_ack", "wid": 1, "v": 0}, "protocol version 0"),
])
def test_malformed_messages_say_why(obj, reason):
    with pytest.raises(m.MessageError, match=None) as e:
        m.from_wire(obj)
    assert reason in str(e.value)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                    max_leaves=12)


def decodes_or_says_why(obj) -> None:
    try:
        msg = m.from_wire(obj)
    except m.MessageError as e:
        assert str(e)
        return
    assert isinstance(msg, m.Message)


@given(JSON)
def test_random_objects_never_crash_the_decoder(obj):
    decodes_or_says_why(obj)


@settings(max_examples=300)
@given(st.sampled_from(EXAMPLES), st.data())
def test_mutated_messages_never_crash_the_decoder(example, data):
    obj = m.to_wire(example)
    key = data.draw(st.sampled_from(sorted(obj)))
    how = data.draw(st.sampled_from(["drop", "replace", "kind"]))
    if how == "drop":
        del obj[key]
    elif how == "replace":
        obj[key] = data.draw(JSON)
    else:
        obj["t"] = data.draw(st.sampled_from(m.kinds()))
    decodes_or_says_why(obj)


@given(st.binary(max_size=64), st.sampled_from(EXAMPLES), st.integers(0, 200))
def test_random_and_corrupted_frames_are_a_frame_error_or_a_decision(junk, example, flip):
    frame = bytearray(encode(m.to_wire(example)))
    frame[flip % len(frame)] ^= 0x5A
    for data in (junk, bytes(frame)):
        try:
            objs = FrameDecoder(4096).feed(data)
        except FrameError:
            continue
        for obj in objs:
            decodes_or_says_why(obj)
