#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ekka.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_info
short_description: The status of an ekka node and its cluster
version_added: 0.1.0
description:
  - Asks the local ekka agent for its status over the control socket and returns it.
  - Use M(ekka.cluster.cluster_facts) to have the same status as the host fact C(ekka_cluster).
options:
  timeout:
    description:
      - Seconds to wait for the agent to answer.
    type: float
    default: 10
extends_documentation_fragment:
  - ekka.cluster.agent
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
author:
  - ekka.cluster maintainers (@ekka-cluster)
seealso:
  - module: ekka.cluster.cluster
  - module: ekka.cluster.cluster_facts
"""

EXAMPLES = r"""
- name: Wait until three nodes run in the cluster
  ekka.cluster.cluster_info:
  register: info
  until: info.status.running_nodes | length == 3
  retries: 60
  delay: 1

- name: Show the members
  ansible.builtin.debug:
    var: info.status.members
"""

RETURN = r"""
status:
  description: The agent's status.
  returned: success
  type: dict
  contains:
    node:
      description: This node's name.
      type: str
      sample: ekka1@10.0.0.1
    cluster:
      description: The cluster name.
      type: str
    running_nodes:
      description: Members that are up.
      type: list
      elements: str
    stopped_nodes:
      description: Members that are down.
      type: list
      elements: str
    members:
      description: Every member with its status.
      type: list
      elements: dict
"""

from ansible_collections.ekka.cluster.plugins.module_utils._agent import status_module


def main():
    module, status = status_module()
    module.exit_json(changed=False, status=status)


if __name__ == "__main__":
    main()
