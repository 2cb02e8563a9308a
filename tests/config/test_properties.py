"""Properties of the reader: any printable cookie from the environment is read byte for byte (or
refused with a line naming the variable, never changed), and no input file gives a traceback."""
from __future__ import annotations

import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import run_check

from ekka_agent.config.cookie import FORBIDDEN_CHARS, MAX_BYTES, SAMPLE_COOKIES
from ekka_agent.config.load import ConfigError, load_config, read_keys

BASE = 'node { name = "emqx@10.0.0.1", cookie = "file-cookie-9" }\n'
PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs"))
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _allowed(cookie: str) -> bool:
    """The cookie policy (a `file://PATH` value names a file, so it is not a cookie itself)."""
    return (not cookie.startswith("file://") and 1 <= len(cookie.encode()) <= MAX_BYTES and not any(c in cookie for c in FORBIDDEN_CHARS)
            and cookie.lower() not in SAMPLE_COOKIES)


@FAST
@given(cookie=st.text(PRINTABLE, min_size=0, max_size=300), prefix=st.sampled_from(["EKKA_", "EMQX_"]))
def test_any_printable_cookie_from_the_environment_is_read_byte_for_byte(cookie, prefix):
    var = prefix + "NODE__COOKIE"
    try:
        cfg = load_config(None, environ={var: cookie}, text=BASE)
    except ConfigError as e:
        assert not _allowed(cookie)
        assert e.problems == [line for line in e.problems if line.startswith("node.cookie = <hidden> (from %s): "
                                                                             % var)]
        return
    assert _allowed(cookie)
    assert cfg["node.cookie"] == cookie


# HOCON's punctuation, names, quotes and escapes, so the reader meets its odd corners, not only noise
HOCONISH = st.lists(st.sampled_from(list('{}[]=:,+"\\#/$?@.\n \t') + ["include ", "${", '"""', "a", "node",
                                                                           "cluster", "name", "1", "true"]),
                    max_size=120).map("".join)


@FAST
@given(data=st.binary(max_size=400) | HOCONISH.map(str.encode))
def test_no_config_file_gives_a_traceback(tmp_path_factory, data):
    f = tmp_path_factory.mktemp("rnd") / "emqx.conf"
    f.write_bytes(data)
    for read in (lambda: load_config(str(f), environ={}), lambda: read_keys(str(f), ("node.data_dir",), {})):
        try:
            read()
        except ConfigError as e:
            assert e.problems and all(isinstance(p, str) and "\n" not in p for p in e.problems)


@settings(max_examples=15, deadline=None)
@given(data=st.binary(min_size=1, max_size=200))
def test_no_config_file_gives_a_traceback_from_the_command(tmp_path_factory, data):
    f = tmp_path_factory.mktemp("cli") / "emqx.conf"
    f.write_bytes(data)
    r = run_check(f)
    assert r.returncode in (0, 2) and "Traceback" not in r.stderr, r.stderr


DEEP = {"arrays": "a = " + "[" * 5000, "objects": "{" * 5000, "root arrays": "[" * 5000,
        "dotted key": "a." * 3000 + "b { c = 1 }", "object values": "a = " + "{ b = " * 3000}


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_deep_nesting_is_one_line(text):
    with pytest.raises(ConfigError) as e:
        load_config(None, environ={}, text=text)
    assert len(e.value.problems) == 1


def test_ctl_reads_the_same_data_dir_as_the_agent_for_every_corpus_file():
    from helpers import CORPUS
    for conf in sorted(CORPUS.rglob("*.conf")):
        try:
            want = load_config(str(conf), environ={})["node.data_dir"]
        except ConfigError:
            continue
        assert read_keys(str(conf), ("node.data_dir",), {})["node.data_dir"] == want, conf


def test_ctl_does_not_load_the_agent_or_a_third_party_parser():
    code = ("import sys; from ekka_agent.cli import ctl; ctl.build_parser(); "
            "from ekka_agent.config.load import read_keys; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pyhocon', 'pyparsing', 'asyncio', 'dns', 'etcd3gw', 'requests') or m.startswith('ekka_agent.runtime')))")
    import sys
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
