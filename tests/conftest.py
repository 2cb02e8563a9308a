"""Shared fixtures for the real-process tests under tests/ (see tests/harness/).

Tests that start real processes or touch the network (namespaces, nftables, etcd, dnsmasq,
agents, nspawn hosts) are marked `root`: by the fixtures they use (ROOT_FIXTURES) or by their
module (ROOT_MODULES). Only those need root; the pure core, wire, config and simulation tests
run as any user (`make check`). Fixtures stop every process they started (by PID) and remove
every namespace they made, also when the test fails; then the last lines of each process's
logs are printed.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from harness.certs import Certs
from harness.dnsmasq import Dnsmasq, start_dnsmasq
from harness.etcd import EtcdServer, start_etcd
from harness.netns import Network, sweep_leftovers
from harness.procs import ProcessGroup

DEFAULT_TEST_TIMEOUT = 300  # seconds; a hung test fails and still runs its finalizers
# A test using any of these (directly or through another fixture) needs root.
ROOT_FIXTURES = frozenset({"procs", "netns", "agents", "etcd_factory", "etcd_server", "etcd_tls_server",
                           "dnsmasq"})
# Modules whose tests start processes or namespaces without those fixtures.
ROOT_MODULES = ("infra/",)
IS_ROOT = os.geteuid() == 0
# Test modules that share one expensive session fixture run on one xdist worker (see _worker_group).
SHARED_FIXTURE_GROUPS: dict[str, tuple[str, ...]] = {}
# The longest modules start first, so the two workers finish near the same time (the Makefile
# passes --no-loadscope-reorder: xdist would otherwise order the groups by their number of tests).
LONGEST_FIRST = ("ansible/test_real_hosts.py", "ansible/test_firewall_backends.py",
                 "sim/test_partition_sim.py")
TESTS = Path(__file__).resolve().parent

# python-etcd3 needs the pure-Python protobuf runtime with current protobuf (research gotcha 7).
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds (left out of `make check`)")
    config.addinivalue_line("markers", "root: needs root (real processes, network namespaces, nftables, nspawn)")
    # A default per-test timeout unless --timeout, PYTEST_TIMEOUT or an ini file set one.
    if (getattr(config.option, "timeout", None) is None and not os.environ.get("PYTEST_TIMEOUT")
            and not config.getini("timeout")):
        config.option.timeout = DEFAULT_TEST_TIMEOUT


def _needs_root(item: pytest.Item) -> bool:
    if ROOT_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    return _rel(item).startswith(ROOT_MODULES)


def _rel(item: pytest.Item) -> str:
    """The test file's path under tests/ (an inner run's file elsewhere keeps its full path)."""
    path = Path(item.path).resolve()
    return path.relative_to(TESTS).as_posix() if path.is_relative_to(TESTS) else path.as_posix()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    # tryfirst: the marks must be there before `-m` deselects, and the groups before xdist reads them.
    for item in items:
        if _needs_root(item):
            item.add_marker(pytest.mark.root)
        item.add_marker(pytest.mark.xdist_group(_worker_group(item)))
    rank = {rel: i for i, rel in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_rel(item), len(rank)))  # stable: the rest keep their order


def _worker_group(item: pytest.Item) -> str:
    """Which tests `make test` (pytest-xdist, --dist loadgroup) keeps on one worker.

    A module's tests stay together, so a module-scoped fixture (the host fleet of the real-host
    tests, the previous release's venv) is built once; modules sharing one such fixture are
    listed in SHARED_FIXTURE_GROUPS, since a second worker would build it a second time.
    """
    rel = _rel(item)
    for group, modules in SHARED_FIXTURE_GROUPS.items():
        if rel in modules:
            return group
    return rel


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    if IS_ROOT:
        return
    need = [i.nodeid for i in session.items if i.get_closest_marker("root")]
    if need:
        raise pytest.UsageError(
            "%d selected test(s) need root (real processes, network namespaces, nftables), e.g. %s. "
            "Run them as root (sudo scripts/install-test-deps.sh && sudo .venv/bin/pytest tests), "
            "or only the others: `make check` or pytest -m 'not root'" % (len(need), need[0]))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    # Lets fixtures see in teardown whether the test failed (rep_setup / rep_call).
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False)
               for w in ("setup", "call"))


@pytest.fixture(scope="session", autouse=True)
def _sweep_leftover_networks():
    """Remove namespaces and bridges a crashed earlier run left (live runs are untouched)."""
    if not IS_ROOT:   # only `root` tests make namespaces, and they do not run then
        yield
        return
    removed = sweep_leftovers()
    if removed:
        print(f"\nremoved leftovers of a crashed test run: {', '.join(removed)}", file=sys.stderr)
    yield


@pytest.fixture
def procs(request: pytest.FixtureRequest, tmp_path: Path):
    """A ProcessGroup logging to <tmp_path>/logs; all its processes are stopped afterwards."""
    group = ProcessGroup(tmp_path / "logs")
    try:
        yield group
    finally:
        group.close()
        if _failed(request) and group.procs:
            print("\n" + group.describe(), file=sys.stderr)


@pytest.fixture
def netns(procs: ProcessGroup):
    """Factory: netns(hosts=3, controller=True, ipv6=False, default_route=False) -> Network.

    `hosts` is a count (names node1..nodeN) or a list of names. Each call makes a new bridge
    and subnet; all are torn down after the test, processes first.
    """
    networks: list[Network] = []

    def make(hosts=3, **kwargs) -> Network:
        net = Network(procs, hosts, **kwargs)
        net.__enter__()
        networks.append(net)
        return net

    try:
        yield make
    finally:
        errors = []
        for net in reversed(networks):
            try:
                net.close()
            except Exception as exc:  # keep tearing down the others
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    """A test CA with server/client certs (localhost, 127.0.0.1, ::1) and an unrelated CA."""
    return Certs(tmp_path / "certs")


@pytest.fixture
def etcd_factory(procs: ProcessGroup, tmp_path: Path):
    """Factory: etcd_factory(host="127.0.0.1", netns=None, certs=None, **kw) -> EtcdServer (healthy)."""
    count = 0

    def make(host: str = "127.0.0.1", netns: str | None = None, certs: Certs | None = None,
             **kwargs) -> EtcdServer:
        nonlocal count
        count += 1
        return start_etcd(procs, tmp_path / f"etcd{count}", host, netns, certs,
                          name=f"etcd{count}", **kwargs)

    return make


@pytest.fixture
def etcd_server(etcd_factory) -> EtcdServer:
    """A plain-HTTP one-member etcd on 127.0.0.1 (free ports). .client() gives an etcd3gw client."""
    return etcd_factory()


@pytest.fixture
def etcd_tls_server(etcd_factory, certs: Certs) -> EtcdServer:
    """etcd on 127.0.0.1 with HTTPS and required client certificates from `certs`.

    .client() is already set up (trust_env=False, see harness/etcd.py); .tls_files() gives
    the CA/cert/key paths for configs, and EtcdServer.client_env() an environment without
    the machine's REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE for client processes.
    """
    return etcd_factory(certs=certs)


@pytest.fixture
def dnsmasq(procs: ProcessGroup, tmp_path: Path):
    """Factory: dnsmasq(a={...}, aaaa={...}, srv=[Srv(...)], listen=..., netns=...) -> Dnsmasq.

    Defaults to 127.0.0.1 on a free port; .address and .port for clients, .resolver() for
    dnspython.
    """
    count = 0

    def make(**kwargs) -> Dnsmasq:
        nonlocal count
        count += 1
        return start_dnsmasq(procs, tmp_path / f"dnsmasq{count}", **kwargs)

    return make


@pytest.fixture
def agents(procs):
    """An AgentCluster: real ekka-agent processes with one cookie; stopped after the test."""
    from harness.agents import AgentCluster
    c = AgentCluster(procs)
    try:
        yield c
    finally:
        procs.close()
        c.close()
