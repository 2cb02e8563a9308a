"""Fixtures for the Ansible collection's tests (see collection.py for the tool runners)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collection import REPO, copy_collection  # noqa: E402


@pytest.fixture(scope="session")
def collection_copy(tmp_path_factory) -> Path:
    """The working tree at <tmp>/ansible_collections/ekka/cluster (for ansible-test, ansible-lint)."""
    return copy_collection(tmp_path_factory.mktemp("collections"))


@pytest.fixture(scope="session")
def filter_module():
    """The collection's filter plugin, imported through Ansible's collection loader."""
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    finder = _AnsibleCollectionFinder(paths=[str(REPO / "playbooks" / "collections")])
    finder._install()
    from ansible_collections.ekka.cluster.plugins.filter import naming

    return naming


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    """The fleet of real hosts (fleet.py) the scenarios of test_real_hosts.py live on: booting
    it and installing the agent are the expensive parts, so they happen once."""
    from fleet import Fleet

    with Fleet(tmp_path_factory.mktemp("fleet")) as f:
        yield f
