"""The lock service on real agents over loopback TCP: Ekka's scenarios through the Python
client and ekka-ctl, the etcd strategy against a real etcd, and a node killed while it holds."""
from __future__ import annotations

import json

import pytest

from ekka_agent.client import Lock, LockClient, NotAcquired
from harness.wait import wait_until

from .helpers import form


@pytest.fixture
def trio(agents):
    return form(agents, 3)


@pytest.mark.parametrize("strategy", ["local", "leader", "quorum", "all"])
def test_acquire_release_each_strategy(trio, strategy):
    n1, n2, n3 = trio
    a, b = LockClient(n2.conf, owner="a"), LockClient(n3.conf, owner="b")
    other = LockClient(n2.conf, owner="b") if strategy == "local" else b   # local: same node only
    g = a.acquire("job", strategy, lease=10)
    assert g["strategy"] == strategy and isinstance(g["token"], int)
    assert a.acquire("job", strategy, lease=10)["token"] == g["token"]      # re-entrant
    with pytest.raises(NotAcquired) as e:
        other.acquire("job", strategy, lease=10)
    assert e.value.error == "locked"
    assert a.release("job", strategy) is True
    assert a.release("job", strategy) is False                                # not held: ignore
    g2 = other.acquire("job", strategy, lease=10)
    assert g2["token"] > g["token"]
    other.release("job", strategy)


def test_context_manager_renews_and_releases(trio):
    n1, n2, n3 = trio
    lk = Lock(n1.conf, "ctx", strategy="quorum", lease=1)
    with lk as token:
        first = lk.valid_until
        other = LockClient(n3.data_dir / "ekka.sock", owner="other")   # the socket as target
        # Held past its first lease: renewals moved it on at least twice.
        wait_until(lambda: lk.valid_until > first + 1.2, 10, message="two renewals")
        assert lk.valid() and not lk.lost.is_set()
        with pytest.raises(NotAcquired):
            other.acquire("ctx", "quorum", lease=1)
        assert isinstance(token, int)
    g = other.acquire("ctx", "quorum", lease=1, wait=5)   # released on exit
    assert g["token"] > token


def test_ctl_acquire_release_list_run(trio, tmp_path):
    n1, n2, n3 = trio
    r = n1.ctl("lock", "acquire", "db-migrate", "--strategy", "all", "--lease", "30s")
    assert r.returncode == 0 and r.stdout.startswith("Lock acquired: db-migrate (strategy all, token "), r.stderr
    # The ekka-ctl process has exited; the lock stays.
    r = n2.ctl("lock", "acquire", "db-migrate", "--strategy", "all", "--wait", "300ms")
    assert r.returncode == 1 and "Failed to acquire the lock db-migrate: locked" in r.stderr
    listed = json.loads(n3.ctl("lock", "list", "--json").stdout)
    assert [(x["resource"], x["owner"], x["node"]) for x in listed] == [("db-migrate", "ekka-ctl", n1.name)]
    assert "db-migrate\towner=ekka-ctl" in n3.ctl("lock", "list").stdout
    r = n1.ctl("lock", "release", "db-migrate")
    assert (r.returncode, r.stdout.strip()) == (0, "Lock released: db-migrate")
    assert n1.ctl("lock", "release", "db-migrate").stdout.startswith("Ignore.")

    out = tmp_path / "ran"
    r = n2.ctl("lock", "run", "batch", "--strategy", "quorum", "--lease", "2s", "--",
               "sh", "-c", 'echo "$EKKA_LOCK_NAME $EKKA_LOCK_TOKEN" > %s; exit 7' % out)
    assert r.returncode == 7, r.stderr
    name, token = out.read_text().split()
    assert name == "batch" and int(token) > 0
    assert json.loads(n2.ctl("lock", "list", "--json").stdout) == []   # released after the command


def test_ctl_bad_input_is_a_clear_error(trio):
    n1 = trio[0]
    r = n1.ctl("lock", "acquire", "x", "--lease", "soon")
    assert r.returncode == 2 and "must be a duration" in r.stderr and "Traceback" not in r.stderr
    r = n1.ctl("lock", "acquire", "x", "--lease", "0s")
    assert r.returncode == 2 and "lease = 0.0: must be a number of seconds" in r.stderr
    r = n1.ctl("lock", "acquire", "x", "--strategy", "etcd")
    assert r.returncode == 2 and "cluster.locks.etcd.server" in r.stderr and "Traceback" not in r.stderr
    r = n1.ctl("lock", "run", "x")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_etcd_strategy(agents, etcd_server):
    extra = "cluster.locks.etcd.server = %s\n" % json.dumps(etcd_server.url)
    n1, n2 = form(agents, 2, extra=extra)
    a, b = LockClient(n1.conf, owner="a"), LockClient(n2.conf, owner="b")
    g = a.acquire("etcd-job", "etcd", lease=5)
    assert g["nodes"] == ["etcd"] and g["token"] > 0
    assert a.acquire("etcd-job", "etcd", lease=5)["token"] == g["token"]
    with pytest.raises(NotAcquired) as e:
        b.acquire("etcd-job", "etcd", lease=5)
    assert e.value.error == "locked"
    assert a.renew("etcd-job", "etcd", lease=5)["token"] == g["token"]
    assert [x["strategy"] for x in a.list()] == ["etcd"]
    assert a.release("etcd-job", "etcd") is True
    g2 = b.acquire("etcd-job", "etcd", lease=5)
    assert g2["token"] > g["token"]
    # The key really is etcd's: a plain etcd client sees it, with b's identity as its value.
    kv = etcd_server.client().get("/ekka-locks/etcd-job")
    assert kv and kv[0].decode().endswith("|b")


def test_locks_of_a_killed_node_are_freed(trio):
    n1, n2, n3 = trio
    LockClient(n3.conf, owner="dead").acquire("q", "quorum", lease=3)
    LockClient(n3.conf, owner="dead").acquire("l", "leader", lease=60)
    n3.kill()
    live = LockClient(n2.conf, owner="live")
    # leader: freed on the leader as soon as it sees n3 down; quorum: when the lease runs out.
    g = live.acquire("l", "leader", lease=5, wait=15)
    assert g["nodes"] == [n1.name]
    assert live.acquire("q", "quorum", lease=5, wait=15)["token"] >= 2


def test_etcd_strategy_over_mutual_tls(agents, etcd_tls_server):
    # The agents inherit REQUESTS_CA_BUNDLE from this machine: the helper must not let it
    # replace the configured CA (research gotcha 8).
    f = etcd_tls_server.tls_files()
    extra = ("cluster.locks.etcd { server = %s\n ssl { cacertfile = %s, certfile = %s, keyfile = %s } }\n"
             % (json.dumps(etcd_tls_server.url), json.dumps(f["cacert"]), json.dumps(f["cert"]), json.dumps(f["key"])))
    (n1,) = form(agents, 1, extra=extra)
    c = LockClient(n1.conf, owner="tls")
    g = c.acquire("tls-job", "etcd", lease=5)
    assert g["token"] > 0 and c.release("tls-job", "etcd") is True


def test_acquire_fails_when_a_call_fails_or_all_nodes_are_down(agents):
    n1, n2, n3 = form(agents, 3, extra="cluster.locks.request_timeout = 1s\n")
    c = LockClient(n1.conf, owner="o")
    n3.pause()                      # alive to the kernel, silent to everyone: the call to it fails
    try:
        with pytest.raises(NotAcquired) as e:
            c.acquire("r", "all", lease=10)
        assert e.value.error in ("timeout", "node_down")
        # n2 granted its part; the failed acquire took it back.
        wait_until(lambda: n2.call("lock_list")["locks"] == [], 5, message="the rollback on n2")
    finally:
        n3.resume()
    n2.kill()
    n3.kill()
    wait_until(lambda: n1.status()["running_nodes"] == [n1.name], 10, message="n1 to see both down")
    for strategy in ("quorum", "all"):
        with pytest.raises(NotAcquired) as e:
            c.acquire("r", strategy, lease=10)
        assert e.value.error == "no_quorum"
    assert c.acquire("r", "leader", lease=10)["nodes"] == [n1.name]   # the leader is the last one up
