"""The HOCON reader on the forms EMQX files use: values stay the text written, objects merge,
substitutions come from the config then the environment, and every problem is one line."""
from __future__ import annotations

import pytest

from ekka_agent.config.hocon import HoconError, parse

READ = [
    ("a = emqx@10.0.0.1", {"a": "emqx@10.0.0.1"}),
    ("a = [emqx@h1.example.com, emqx@h2.example.com]", {"a": ["emqx@h1.example.com", "emqx@h2.example.com"]}),
    ("a = 000123\nb = 0660\nc = 1e400\nd = true", {"a": "000123", "b": "0660", "c": "1e400", "d": "true"}),
    ('a = "x#y" # comment\nb = x // comment', {"a": "x#y", "b": "x"}),
    ("a { b = 1 }\na { c = 2 }\na.d = 3", {"a": {"b": "1", "c": "2", "d": "3"}}),
    ("a { b = 1 }\na = 5", {"a": "5"}),
    ('a."b.c".d = 1', {"a": {"b.c": {"d": "1"}}}),
    ("a = x y  z", {"a": "x y  z"}),
    ('a = """two\nlines"""', {"a": "two\nlines"}),
    ('a = "tab\\tq\\"u\\u00e9"', {"a": 'tab\tq"u\u00e9'}),
    ("a = [1, 2]\na += 3", {"a": ["1", "2", "3"]}),
    ("a = null", {"a": None}),
    ("a = {b = 1} {c = 2}", {"a": {"b": "1", "c": "2"}}),
    ('{"a": {"b": [1, 2]}, "c": false}', {"a": {"b": ["1", "2"]}, "c": "false"}),
    ("b = ${a}/x\na = 3", {"b": "3/x", "a": "3"}),
    ("a = ${HOME_FOR_TEST}", {"a": "/home/t"}),
    ("a = ${?NOT_SET_ANYWHERE}\nb = 1", {"b": "1"}),
    ('a = "${HOME_FOR_TEST}"', {"a": "${HOME_FOR_TEST}"}),       # HOCON: no substitution inside quotes
    ("a: 1, b: 2", {"a": "1", "b": "2"}),
    ("\ufeffa = 1\r\nb = 2\r\n", {"a": "1", "b": "2"}),
]


@pytest.mark.parametrize("text,tree", READ, ids=[r[0][:30] for r in READ])
def test_reads(text, tree):
    assert parse(text, environ={"HOME_FOR_TEST": "/home/t"})[0] == tree


def test_an_unquoted_value_cut_by_a_comment_is_flagged():
    tree, _ = parse("a = abc#def\nb = abc #def\nc = \"abc\"#def")
    assert (tree["a"], tree["a"].cut, tree["b"].cut, tree["c"].cut) == ("abc", True, False, False)


REFUSED = [
    ("a = ", "line 1: expected a value, found the end of the file"),
    ("a = [1, 2", "line 1: missing ']': an array is not closed"),
    ("a { b = 1", "line 1: missing '}': an object is not closed"),
    ('a = "open', "line 1: a quoted string is not closed on its line"),
    ("a = ${a}", "line 1: ${a} refers to itself"),
    ("a = ${NOT_SET_ANYWHERE}", "line 1: ${NOT_SET_ANYWHERE} is set neither in the config nor in the environment"),
    ("a = x!", "line 1: unexpected character '!' (quote the value if it is text)"),
    ("a = x\n}", "line 2: expected a key, found '}'"),
    ('include url("http://x")', 'line 1: include url(...) is not supported: include a file'),
    ('include required("nope.conf")', "line 1: include required('nope.conf'):"),
]


@pytest.mark.parametrize("text,message", REFUSED, ids=[r[0] for r in REFUSED])
def test_refuses_in_one_line(text, message):
    with pytest.raises(HoconError) as e:
        parse(text, source="/etc/emqx/emqx.conf", environ={})
    assert str(e.value).startswith("/etc/emqx/emqx.conf: " + message) and "\n" not in str(e.value)
