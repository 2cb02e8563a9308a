"""The node role renders a config the agent accepts, for every discovery strategy.

The role runs for real (connection local, no service manager); `ekka-agent check` is the
agent's own validator, so a key the role writes and the agent does not know fails here.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from collection import run_playbook

STRATEGIES = {
    "manual": {},
    "static": {},
    "mcast": {"ekka_mcast": {"addr": "239.192.0.9", "ports": [4369, 4370], "iface": "127.0.0.1", "ttl": 1, "loop": True}},
    "dns": {"ekka_dns": {"name": "ekka.example.com", "record_type": "srv"}},
    "etcd": {"ekka_etcd": {"server": ["http://10.0.0.1:2379", "http://10.0.0.2:2379"], "prefix": "ekkacl", "node_ttl": "1m"}},
    "k8s": {"ekka_k8s": {"apiserver": "https://kubernetes.default.svc:443", "service_name": "ekka",
                         "address_type": "hostname", "namespace": "prod", "suffix": "pod.local"}},
}


def render(tmp_path: Path, extra: dict, check: bool = False) -> tuple:
    inv = tmp_path / "hosts.yml"
    inv.write_text(json.dumps({"ekka": {"hosts": {
        "a": {"ekka_node_offset": "1", "ekka_node_address": "10.0.0.1"},
        "b": {"ekka_node_offset": "2", "ekka_node_address": "10.0.0.2"}}}}))
    play = tmp_path / "play.yml"
    play.write_text(json.dumps([{"hosts": "a", "gather_facts": False, "roles": ["ekka.cluster.node"]}]))
    variables = {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "ekka_service_manager": "none", "ekka_cookie": "c" * 32,
        "ekka_config_dir": str(tmp_path / "etc"), "ekka_data_dir": str(tmp_path / "data"), **extra}
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    args = ["-i", inv, "-e", f"@{tmp_path / 'vars.json'}", play] + (["--check"] if check else [])
    return run_playbook(args), tmp_path / "etc" / "ekka.conf"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    """Every strategy rendered in one play (one ansible-playbook start instead of six), each by a
    host of its own named like host a: {strategy: (play result, path of its config)}."""
    tmp = tmp_path_factory.mktemp("strategies")
    hosts = {f"s_{name}": {"ekka_node_offset": "1", "ekka_node_address": "10.0.0.1",
                           "ekka_config_dir": str(tmp / name / "etc"), "ekka_data_dir": str(tmp / name / "data"),
                           "ekka_discovery_strategy": name, **extra} for name, extra in STRATEGIES.items()}
    inv = tmp / "hosts.yml"
    inv.write_text(json.dumps({
        "ekka": {"hosts": {"a": {"ekka_node_offset": "1", "ekka_node_address": "10.0.0.1"},
                           "b": {"ekka_node_offset": "2", "ekka_node_address": "10.0.0.2"}}},
        "strategies": {"hosts": hosts, "vars": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "ekka_service_manager": "none", "ekka_cookie": "c" * 32}}}))
    play = tmp / "play.yml"
    play.write_text(json.dumps([{"hosts": "strategies", "gather_facts": False, "roles": ["ekka.cluster.node"]}]))
    r = run_playbook(["-i", inv, play])
    return {name: (r, tmp / name / "etc" / "ekka.conf") for name in STRATEGIES}


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_rendered_config_passes_agent_check(rendered, strategy):
    r, conf = rendered[strategy]
    assert r.rc == 0 and r.recap[f"s_{strategy}"]["failed"] == 0, r
    text = conf.read_text()
    assert 'name = "ekka1@10.0.0.1"' in text
    assert "c" * 32 not in text, "the cookie goes to its own file, not into the config"
    if strategy == "static":
        assert 'seeds = ["ekka1@10.0.0.1", "ekka2@10.0.0.2"]' in text
    agent = shutil.which("ekka-agent", path=str(Path(sys.executable).parent))
    chk = subprocess.run([agent, "check", "-c", str(conf)], capture_output=True, text=True, check=False)
    assert chk.returncode == 0, f"{chk.stdout}{chk.stderr}\n{text}"
    assert f"discovery {strategy}" in chk.stdout


def test_second_render_changes_nothing(tmp_path):
    first, conf = render(tmp_path, {"ekka_probe_interval": "300ms"})
    assert first.rc == 0 and 'probe_interval = "300ms"' in conf.read_text(), first
    assert "DEPRECATION" not in first.stdout
    # The old name of the variable is still read, with a warning, and renders the same config.
    again = render(tmp_path, {"ekka_heartbeat_interval": "300ms"})[0]
    assert again.rc == 0 and again.changed() == 0, again
    assert "ekka_heartbeat_interval is deprecated: it is now ekka_probe_interval" in again.stdout, again


def test_the_agent_judges_the_cookie(tmp_path):
    """The role restates no cookie rule: the installed agent's `check` refuses a sample cookie
    in one line that names the key and hides the value."""
    venv = str(Path(sys.executable).parent.parent)
    r = render(tmp_path, {"ekka_cookie": "changeme", "ekka_agent_venv": venv})[0]
    assert r.rc != 0 and "node.cookie = <hidden>" in r.stdout, r
    assert "changeme" not in r.stdout


def test_previous_cookies_and_certificates(tmp_path):
    """Previous cookies go to files of their own, listed in node.cookie_previous; certificate
    files from the controller land in the tls dir and in cluster.ssl."""
    src = tmp_path / "src"
    src.mkdir()
    for n in ("node.pem", "node.key", "ca.pem"):
        (src / n).write_text(f"-----{n}-----\n")
    r, conf = render(tmp_path, {"ekka_cookie_previous": ["p" * 20, "q" * 20],
                                "ekka_tls_certfile": str(src / "node.pem"), "ekka_tls_keyfile": str(src / "node.key"),
                                "ekka_tls_cacertfile": str(src / "ca.pem")})
    assert r.rc == 0, r
    etc = tmp_path / "etc"
    assert (etc / "cookie.previous.1").read_text() == "p" * 20
    assert (etc / "cookie.previous.2").read_text() == "q" * 20
    text = conf.read_text()
    assert f'cookie_previous = ["file://{etc}/cookie.previous.1", "file://{etc}/cookie.previous.2"]' in text
    assert f'"keyfile": "{etc}/tls/node.key"' in text and (etc / "tls" / "node.key").exists()
    r, conf = render(tmp_path, {})
    assert r.rc == 0 and not list(etc.glob("cookie.previous.*")) and "cookie_previous" not in conf.read_text()
