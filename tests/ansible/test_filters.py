"""The filters that read the inventory: node_name, static_seeds, peer_addresses; and the
filters used from real Jinja in a real ansible-playbook run (with --limit)."""
from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from collection import run_playbook

HOSTVARS = {
    "a": {"ansible_host": "10.0.0.1"},
    "b": {"ansible_host": "10.0.0.2", "ekka_node_offset": "2"},
    "c": {"ekka_node_name": "core@c.example.com", "ekka_firewall_address": "10.0.0.3"},
    "d": {"ansible_host": "10.0.0.4", "ekka_state": "absent"},
    "e": {"ansible_host": "10.0.0.5", "ekka_app": "emqx"},
}


def f(filter_module, name):
    return filter_module.FilterModule().filters()[name]


def test_node_name_defaults(filter_module):
    node_name = f(filter_module, "node_name")
    assert node_name("a", HOSTVARS) == "ekka@10.0.0.1"
    assert node_name("b", HOSTVARS) == "ekka2@10.0.0.2"
    assert node_name("c", HOSTVARS) == "core@c.example.com"
    assert node_name("e", HOSTVARS) == "emqx@10.0.0.5"


def test_node_name_falls_back_to_inventory_name(filter_module):
    assert f(filter_module, "node_name")("s1.example.com", {"s1.example.com": {}}) == "ekka@s1.example.com"


def test_node_name_errors(filter_module):
    with pytest.raises(AnsibleFilterError, match="host 'x' is not in hostvars"):
        f(filter_module, "node_name")("x", HOSTVARS)
    with pytest.raises(AnsibleFilterError, match="ekka_node_name: .*fully qualified"):
        f(filter_module, "node_name")("h", {"h": {"ekka_node_name": "ekka@localhost"}})


def test_static_seeds_in_group_order_without_absent_hosts(filter_module):
    seeds = f(filter_module, "static_seeds")(["a", "b", "c", "d", "e"], HOSTVARS)
    assert seeds == ["ekka@10.0.0.1", "ekka2@10.0.0.2", "core@c.example.com", "emqx@10.0.0.5"]
    assert "ekka@10.0.0.4" in f(filter_module, "static_seeds")(["d"], HOSTVARS, False)


def test_static_seeds_rejects_a_string(filter_module):
    with pytest.raises(AnsibleFilterError, match="expects a list of inventory hosts"):
        f(filter_module, "static_seeds")("ekka", HOSTVARS)


def test_peer_addresses(filter_module):
    assert f(filter_module, "peer_addresses")(["a", "b", "c", "d"], HOSTVARS) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    with pytest.raises(AnsibleFilterError, match="set ekka_firewall_address"):
        f(filter_module, "peer_addresses")(["h"], {"h": {"ekka_node_name": "ekka@h.example.com"}})


def test_cluster_ports_rejects_bad_epmd_flag(filter_module):
    with pytest.raises(AnsibleFilterError, match="epmd = 'maybe': must be a boolean"):
        f(filter_module, "cluster_ports")("ekka@10.0.0.1", "maybe")


def test_filters_in_a_real_play_under_limit(tmp_path):
    """--limit to one host still renders every seed: names come from inventory variables."""
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "ekka:\n  hosts:\n"
        "    n1: {ansible_host: 10.9.0.1, ekka_node_offset: '1'}\n"
        "    n2: {ansible_host: 10.9.0.2, ekka_node_offset: '2'}\n"
        "    n3: {ansible_host: 10.9.0.3, ekka_node_offset: '3'}\n"
        "  vars: {ansible_connection: local}\n")
    play = tmp_path / "play.yml"
    out = tmp_path / "out.json"
    play.write_text(f"""
- hosts: ekka
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        dest: {out}
        mode: "0644"
        content: >-
          {{{{ {{'seeds': groups.ekka | ekka.cluster.static_seeds(hostvars),
               'me': inventory_hostname | ekka.cluster.node_name(hostvars),
               'offset': (inventory_hostname | ekka.cluster.node_name(hostvars)) | ekka.cluster.node_offset,
               'dist': 'ekka2@10.9.0.2' | ekka.cluster.dist_port,
               'rpc': 'ekka2@10.9.0.2' | ekka.cluster.rpc_port,
               'ports': 'ekka2@10.9.0.2' | ekka.cluster.cluster_ports(true, 6369, 6372),
               'peers': groups.ekka | ekka.cluster.peer_addresses(hostvars)}} | to_json }}}}
      delegate_to: localhost
""")
    r = run_playbook(["-i", inv, play, "--limit", "n2"])
    assert r.rc == 0, r
    got = json.loads(out.read_text())
    assert got["seeds"] == ["ekka1@10.9.0.1", "ekka2@10.9.0.2", "ekka3@10.9.0.3"]
    assert got["me"] == "ekka2@10.9.0.2" and got["offset"] == 2
    assert (got["dist"], got["rpc"]) == (4372, 5372)
    assert [p["port"] for p in got["ports"]["ports"]] == [4369, 6369, 5372]
    assert got["peers"] == ["10.9.0.1", "10.9.0.2", "10.9.0.3"]


def test_bad_node_name_fails_the_play_with_a_clear_message(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "{{ 'ekka@localhost' | ekka.cluster.dist_port }}"
""")
    r = run_playbook(["-i", "localhost,", "-c", "local", play])
    assert r.rc != 0
    assert "ekka.cluster.dist_port: host 'localhost' is neither an IP address nor a fully qualified" in r.stdout, r
    assert "Traceback" not in r.stdout + r.stderr


def test_every_filter_has_documentation(filter_module):
    """`ansible-doc -t filter ekka.cluster.<name>` shows each filter the plugin defines."""
    import subprocess

    from collection import ansible_env, tool

    names = sorted(filter_module.FilterModule().filters())
    r = subprocess.run([tool("ansible-doc"), "-t", "filter", "--json", *(f"ekka.cluster.{n}" for n in names)],
                       capture_output=True, text=True, check=False, env=ansible_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    docs = json.loads(r.stdout)
    for n in names:
        doc = docs[f"ekka.cluster.{n}"]["doc"]
        assert doc["name"] == n and doc["short_description"] and doc["options"]["_input"], n
