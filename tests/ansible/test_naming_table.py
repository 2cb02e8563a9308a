"""The agent and the Ansible filters against ONE table: tests/data/naming_cases.yaml."""
from __future__ import annotations

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from collection import REPO
from ekka_agent import naming

CASES = yaml.safe_load((REPO / "tests" / "data" / "naming_cases.yaml").read_text())


def _ports(summary):
    return [[p["purpose"], p["port"], p["end"]] for p in summary["ports"]]


@pytest.mark.parametrize("case", CASES["names"], ids=lambda c: c["node"])
def test_agent_names(case):
    assert naming.node_offset(case["node"]) == case["offset"]
    assert naming.dist_port(case["node"]) == case["dist"]
    assert naming.rpc_port(case["node"]) == case["rpc"]


@pytest.mark.parametrize("case", CASES["names"], ids=lambda c: c["node"])
def test_filter_names(case, filter_module):
    f = filter_module.FilterModule().filters()
    assert f["node_offset"](case["node"]) == case["offset"]
    assert f["dist_port"](case["node"]) == case["dist"]
    assert f["rpc_port"](case["node"]) == case["rpc"]
    summary = f["cluster_ports"](case["node"])
    assert summary["offset"] == case["offset"]
    assert _ports(summary) == [["dist", case["dist"], case["dist"]], ["rpc", case["rpc"], case["rpc"]]]


def _port_args(case):
    return (case["epmd"], case.get("dist_listen_min", 6369), case.get("dist_listen_max", 6369))


def _rpc_args(case):
    """rpc.port_discovery and rpc.tcp_server_port, as the filters take them."""
    return (case.get("port_discovery", "stateless"), case.get("tcp_server_port", 5369))


@pytest.mark.parametrize("case", CASES["ports"], ids=lambda c: f"{c['node']}-epmd={c['epmd']}-{_rpc_args(c)[0]}")
def test_ports_agree(case, filter_module):
    agent = naming.port_summary(case["node"], *_port_args(case), naming.fixed_rpc_port(*_rpc_args(case)))
    plugin = filter_module.FilterModule().filters()["cluster_ports"](case["node"], *_port_args(case),
                                                                     *_rpc_args(case))
    if case.get("port_discovery"):
        rpc = [p for p in case["ports"] if p[0] == "rpc"][0][1]
        assert filter_module.FilterModule().filters()["rpc_port"](case["node"], *_rpc_args(case)) == rpc
    assert _ports(agent) == case["ports"]
    assert plugin == agent
    assert plugin["mode"] == ("epmd" if case["epmd"] else "ekka")


@pytest.mark.parametrize("case", CASES["invalid_names"], ids=lambda c: repr(c["node"]))
def test_invalid_names(case, filter_module):
    with pytest.raises(naming.NodeNameError, match=None) as agent_err:
        naming.parse_node(case["node"])
    assert case["error"] in str(agent_err.value)
    for name in ("node_offset", "dist_port", "rpc_port", "cluster_ports"):
        with pytest.raises(AnsibleFilterError) as filter_err:
            filter_module.FilterModule().filters()[name](case["node"])
        # The filter names itself and passes the agent's reason through unchanged.
        assert f"ekka.cluster.{name}" in str(filter_err.value) or name == "cluster_ports"
        assert str(agent_err.value) in str(filter_err.value)


@pytest.mark.parametrize("case", CASES["invalid_ports"], ids=lambda c: f"{c['dist_listen_min']}-{c['dist_listen_max']}")
def test_invalid_port_ranges(case, filter_module):
    args = (case["node"], True, case["dist_listen_min"], case["dist_listen_max"])
    with pytest.raises(naming.NodeNameError) as agent_err:
        naming.port_summary(*args)
    with pytest.raises(AnsibleFilterError) as filter_err:
        filter_module.FilterModule().filters()["cluster_ports"](*args)
    assert case["error"] in str(agent_err.value)
    assert str(agent_err.value) in str(filter_err.value)
