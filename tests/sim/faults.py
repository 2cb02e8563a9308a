"""One random fault on the simulator (SimCluster), for the seeded checkers that share the rule:
tests/locks/helpers.py sim_random_run and tests/sim/test_autocluster_sim.py churn_with_autoclean.
Which fault depends on `roll` (drawn by the caller, from its own bands); the rest from `rng`,
always in the same order, so that a seed replays the same run."""
from __future__ import annotations


def random_fault(sim, rng, names: list, roll: float, crash: float, split: float, heal: float) -> None:
    """roll < crash: a random node crashes (never below two alive) or, if down, restarts;
    then the next `split` of the range splits the network in two at random; the next `heal`
    heals it; beyond, nothing."""
    if roll < crash:
        victim = rng.choice(names)
        if victim in sim.alive and len(sim.alive) > 2:
            sim.crash(victim)
        elif victim not in sim.alive:
            sim.restart(victim)
    elif roll < crash + split:
        k = rng.randint(1, len(names) - 1)
        shuffled = rng.sample(names, len(names))
        sim.net.partition(shuffled[:k], shuffled[k:])
    elif roll < crash + split + heal:
        sim.net.heal()
