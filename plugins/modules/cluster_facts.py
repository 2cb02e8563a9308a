#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ekka.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_facts
short_description: The status of an ekka node and its cluster as the fact ekka_cluster
version_added: 0.2.0
description:
  - Asks the local ekka agent for its status over the control socket and sets it as the
    host fact C(ekka_cluster).
  - M(ekka.cluster.cluster_info) returns the same status as a result instead.
options:
  timeout:
    description:
      - Seconds to wait for the agent to answer.
    type: float
    default: 10
extends_documentation_fragment:
  - ekka.cluster.agent
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
author:
  - ekka.cluster maintainers (@ekka-cluster)
seealso:
  - module: ekka.cluster.cluster
  - module: ekka.cluster.cluster_info
"""

EXAMPLES = r"""
- name: Read the cluster status into the fact ekka_cluster
  ekka.cluster.cluster_facts:

- name: Show the members
  ansible.builtin.debug:
    var: ekka_cluster.members
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to the host.
  returned: success
  type: dict
  contains:
    ekka_cluster:
      description: The agent's status, as RV(ekka.cluster.cluster_info#module:status) returns it.
      type: dict
"""

from ansible_collections.ekka.cluster.plugins.module_utils._agent import status_module


def main():
    module, status = status_module()
    module.exit_json(changed=False, ansible_facts={"ekka_cluster": status})


if __name__ == "__main__":
    main()
