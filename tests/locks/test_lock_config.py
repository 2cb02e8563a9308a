"""The lock keys of the config: defaults, accepted values and clear errors."""
from __future__ import annotations

import pytest

from ekka_agent.config import ConfigError, load_config
from ekka_agent.core.lock_config import etcd_settings

BASE = 'node { name = "ekka1@127.0.0.1", cookie = "c-1f2e3d4c5b6a" }\n'


def test_defaults_and_etcd_fallback_to_discovery_keys():
    cfg = load_config(None, environ={}, text=BASE)
    assert (cfg["cluster.locks.default_strategy"], cfg["cluster.locks.default_lease"]) == ("quorum", 15000)
    assert etcd_settings(cfg.as_dict()) is None
    cfg = load_config(None, environ={}, text=BASE + 'cluster.etcd.server = "http://10.0.0.1:2379,http://10.0.0.2:2379"\n')
    assert etcd_settings(cfg.as_dict())["servers"] == ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]
    cfg = load_config(None, environ={}, text=BASE + 'cluster { locks { default_lease = 5s, etcd.server = '
                      '"https://e1:2379", etcd.prefix = jobs } }\n')
    st = etcd_settings(cfg.as_dict())
    assert cfg["cluster.locks.default_lease"] == 5000
    assert (st["servers"], st["prefix"]) == (["https://e1:2379"], "jobs")


@pytest.mark.parametrize("line, expect", [
    ('cluster.locks.etcd.server = "ftp://e1:2379"', "cluster.locks.etcd.server = 'ftp://e1:2379': must be etcd URLs"),
    ('cluster.locks.etcd.server = "http://e1:2379/v2"', "must be etcd URLs"),
    ("cluster.locks.default_strategy = majority", "cluster.locks.default_strategy = 'majority': must be"),
    ("cluster.locks.max_lease = soon", "cluster.locks.max_lease = 'soon': must be a duration"),
    ("cluster.locks.shortcut = 1", "cluster.locks.shortcut: unknown key"),
])
def test_bad_values_are_clear_errors(line, expect):
    with pytest.raises(ConfigError) as e:
        load_config(None, environ={}, text=BASE + line + "\n")
    assert any(expect in p for p in e.value.problems), e.value.problems
