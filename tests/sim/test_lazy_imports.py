"""A node loads only what its config uses (issue 12: idle RSS at most 30 MiB per agent).

Two real Agents (runtime/agent.py with every runtime helper and the control socket; only the
transport is the in-memory one) form a cluster through static seeds, without TLS, HTTP, etcd,
DNS or Kubernetes, in a fresh interpreter that first imports the ekka-agent command's module.
Then nothing that only an unused feature needs may be in sys.modules: cryptography alone is about
12 MiB of an agent's memory, importlib.metadata (email, zipfile) about 3 MiB.
"""
from __future__ import annotations

import json
import subprocess
import sys

# feature that is off in this config -> what only it may load
NOT_USED = {
    "TLS certificates (cluster.ssl)": ["cryptography", "_cffi_backend"],
    "HTTP metrics (http.listen)": ["prometheus_client", "ekka_agent.runtime.metrics"],
    "etcd discovery and locks": ["etcd3gw", "requests", "urllib3", "ekka_agent.discovery.etcd"],
    "DNS discovery": ["dns", "ekka_agent.discovery.dns"],
    "Kubernetes discovery": ["urllib.request", "ekka_agent.discovery.k8s"],
    "multicast discovery": ["ekka_agent.discovery.mcast"],
    "the package's metadata (the version is a constant)": ["importlib.metadata", "email", "zipfile"],
    "test-only parsers": ["yaml"],
    # asyncio imports ssl, hashlib libcrypto: kept out before asyncio loads (openssl_use.py)
    "OpenSSL (TLS, HTTP, etcd, Kubernetes)": ["ssl", "_ssl", "_hashlib"],
}

STATIC_NODE = r"""
import json, sys
from ekka_agent.cli import agent           # the entry module `ekka-agent run` starts from
from ekka_agent.openssl_use import leave_out_openssl

A, B = "ekka1@10.0.0.1", "ekka2@10.0.0.2"
OPTIONS = {"cluster.discovery_strategy": "static", "cluster.static.seeds": [A, B]}
assert leave_out_openssl(OPTIONS)          # as `ekka-agent run` does before it imports asyncio
from ekka_agent.sim.agents import AgentSim

async def scenario(sim):
    await sim.start(A)
    await sim.start(B)
    async def formed():
        return [(await sim.status(n))["running_nodes"] for n in (A, B)] == [[A, B], [A, B]]
    assert await sim.wait_until(formed, timeout=60), "no cluster of two"

AgentSim.run(scenario, sys.argv[1], seed=1, options=OPTIONS)
print(json.dumps(sorted(m for m, mod in sys.modules.items() if mod is not None)))
"""


def test_a_static_node_without_tls_or_http_loads_no_unused_feature(tmp_path):
    r = subprocess.run([sys.executable, "-c", STATIC_NODE, str(tmp_path)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    loaded = json.loads(r.stdout.strip().splitlines()[-1])
    found = {feature: [m for m in loaded if any(m == p or m.startswith(p + ".") for p in prefixes)]
             for feature, prefixes in NOT_USED.items()}
    assert {f: ms for f, ms in found.items() if ms} == {}
    assert "ekka_agent.discovery.static" in loaded     # the check sees what the node did load


def test_openssl_is_loaded_for_every_key_that_speaks_tls_or_https():
    from ekka_agent.openssl_use import needs_openssl
    static = {"cluster.discovery_strategy": "static", "cluster.proto_dist": "inet_tcp", "http.listen": None}
    assert not needs_openssl(static)
    for change in ({"cluster.proto_dist": "inet_tls"}, {"http.listen": ("127.0.0.1", 8081)},
                   {"cluster.discovery_strategy": "etcd"}, {"cluster.discovery_strategy": "k8s"},
                   {"cluster.etcd.server": ["http://10.0.0.9:2379"]},
                   {"cluster.locks.etcd.server": ["http://10.0.0.9:2379"]}):
        assert needs_openssl(dict(static, **change)), change
