"""Deterministic simulation: many NodeCores on a virtual clock and a fake network, from a seed."""
from .cluster import SimCluster  # noqa: F401
