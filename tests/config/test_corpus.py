"""The EMQX config corpus (tests/data/emqx_configs/cases.yaml): each file read through
`ekka-agent check --effective` gives exactly the stated config, or exactly the stated error line."""
from __future__ import annotations

import pytest
import yaml

from helpers import CORPUS, PREFIX, effective, expected, run_check

CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text())


def _fill(value):
    """{dir} in a case's strings is the corpus directory."""
    if isinstance(value, str):
        return value.replace("{dir}", str(CORPUS))
    if isinstance(value, list):
        return [_fill(v) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v) for k, v in value.items()}
    return value


def _id(case):
    return case["file"] + ("+env" if case.get("env") else "") + ("-error" if "error" in case else "")


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_corpus_case(case):
    case = _fill(case)
    conf = CORPUS / case["file"]
    if "error" in case:
        r = run_check(conf, case.get("env"))
        assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.splitlines()[0] == PREFIX + case["error"]
        return
    got, notes = effective(conf, case.get("env"))
    assert got == expected(case["set"])
    warnings = [n[len("warning: "):] for n in notes if n.startswith("warning: ")]
    assert warnings == case.get("warnings", [])
    ignored = [n for n in notes if n.startswith("ignored")]
    if case.get("ignored"):
        assert len(ignored) == 1
        listed = ignored[0].split(": ", 1)[1].split(", ")
        assert sorted(listed) == sorted(case["ignored"])
    else:
        assert ignored == []


def test_every_corpus_file_has_a_case():
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.conf")}
    included = {"v4_split/zones.conf", "v4_split/listeners.conf", "v4_split/plugins/emqx_management.conf"}
    assert files - included <= {c["file"] for c in CASES}
