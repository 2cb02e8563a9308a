"""core/cliques.py alone: the leader's choice from the views it gathered."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ekka_agent.core.cliques import conflicts, find_cliques, partial_partitions, pick_winner

E1, E2 = [1, "aaaa"], [1, "bbbb"]


def view(ep, split=(), down=()):
    return {"ep": ep, "split": list(split), "down": list(down)}


def test_two_sides_that_hold_different_epochs_are_two_cliques_and_the_larger_wins():
    views = {"a": view(E1), "b": view(E1), "c": view(E2), "d": view(E2), "e": view(E2)}
    cl = find_cliques(["a", "b", "c", "d", "e"], conflicts(views))
    assert cl == [["a", "b"], ["c", "d", "e"]]
    assert pick_winner(cl) == ["c", "d", "e"]


def test_a_tie_keeps_the_clique_with_the_oldest_member():
    views = {"a": view(E1), "b": view(E2)}
    cl = find_cliques(["a", "b"], conflicts(views))
    assert pick_winner(cl) == ["a"]


def test_split_marks_conflict_even_within_one_epoch():
    views = {"a": view(E1, split=["b"]), "b": view(E1), "c": view(E1)}
    assert conflicts(views) == {"a": {"b"}, "b": {"a"}, "c": set()}
    assert find_cliques(["a", "b", "c"], conflicts(views)) == [["a", "c"], ["b"]]


def test_nodes_that_cannot_reach_each_other_do_not_conflict_but_are_a_partial_partition():
    views = {"a": view(E1, down=["c"]), "b": view(E1), "c": view(E2, down=["a"])}
    assert "c" not in conflicts(views)["a"]
    assert partial_partitions(views) == {"a": ["c"], "c": ["a"]}


def test_one_epoch_and_no_splits_is_one_clique_without_alarms():
    views = {n: view(E1) for n in "abc"}
    assert find_cliques(["a", "b", "c"], conflicts(views)) == [["a", "b", "c"]]
    assert partial_partitions(views) == {}


NODES = "abcdef"


@given(st.dictionaries(st.sampled_from(NODES), st.tuples(st.sampled_from([E1, E2, None]),
                                                          st.sets(st.sampled_from(NODES)),
                                                          st.sets(st.sampled_from(NODES))), min_size=1))
def test_cliques_cover_every_node_once_and_hold_no_conflict(raw):
    views = {n: view(ep, sorted(split - {n}), sorted(down - {n})) for n, (ep, split, down) in raw.items()}
    order = sorted(views)
    conf = conflicts(views)
    assert all(a in conf[b] for a in conf for b in conf[a])   # symmetric
    cl = find_cliques(order, conf)
    assert sorted(n for c in cl for n in c) == order
    for c in cl:
        assert not any(b in conf[a] for a in c for b in c)
    assert pick_winner(cl) in cl
