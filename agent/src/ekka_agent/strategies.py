"""The lists of strategies, once: the config schema, the core and the command line read them here."""
from __future__ import annotations

# Lock strategies (core/locks.py says what each does).
LOCK_STRATEGIES = ("local", "leader", "quorum", "all", "etcd")

# Discovery strategies (discovery/ has one module per strategy but manual).
DISCOVERY_STRATEGIES = ("manual", "static", "mcast", "dns", "etcd", "k8s")
DISCOVERY_WITH_LOCK = ("etcd",)        # formation happens under the strategy's lock
DISCOVERY_WITH_REGISTRY = ("etcd",)    # a node registers itself once in a cluster
DISCOVERY_OVER_HTTP = ("etcd", "k8s")  # the strategy's client speaks HTTP(S) (openssl_use.py)
