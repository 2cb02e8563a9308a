"""docs/config.md holds the EMQX key table of config/emqx_keys.py row for row, and names every key
of the agent's schema, so the docs cannot drift from what the loader does."""
from __future__ import annotations

from pathlib import Path

from ekka_agent.config.emqx_keys import TABLE
from ekka_agent.config.schema import SCHEMA

DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"

WHAT = {"honoured": "honoured", "renamed": "read as `{ours}`", "checked": "checked",
        "refused": "refused", "ignored": "ignored"}


def markdown_row(r) -> str:
    """One row of the table in docs/config.md, as this test expects it."""
    return "| `%s` | %s | %s | %s |" % (r.key, r.emqx, WHAT[r.action].format(ours=r.ours), r.note)


def test_every_emqx_key_row_is_in_the_docs():
    text = DOC.read_text()
    missing = [markdown_row(r) for r in TABLE if markdown_row(r) not in text]
    assert not missing, "docs/config.md lacks these rows (or they differ):\n" + "\n".join(missing)


def test_every_schema_key_is_in_the_docs():
    text = DOC.read_text()
    assert [k.path for k in SCHEMA if "`%s`" % k.path not in text] == []
