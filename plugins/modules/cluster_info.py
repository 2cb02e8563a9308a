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
  - Asks the local ekka agent for its status over the control socket and returns it,
    also as the fact C(ekka_cluster).
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
    var: ekka_cluster.members
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
ansible_facts:
  description: Facts to add to the host.
  returned: success
  type: dict
  contains:
    ekka_cluster:
      description: The same dict as RV(status).
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ekka.cluster.plugins.module_utils._control_client import (
    AgentUnreachable,
    ControlError,
)
from ansible_collections.ekka.cluster.plugins.module_utils._agent import AGENT_ARGS, agent_client


def main():
    module = AnsibleModule(
        argument_spec=dict(
            **AGENT_ARGS,
            timeout=dict(type="float", default=10),
        ),
        supports_check_mode=True,
    )
    p = module.params
    client = agent_client(p)
    try:
        status = client.call("status")
    except AgentUnreachable as e:
        module.fail_json(msg="the ekka agent is not reachable: %s" % e)
    except ControlError as e:
        module.fail_json(msg="the ekka agent refused: %s: %s" % (e.error, e), error=e.error, reply=e.reply)
    module.exit_json(changed=False, status=status, ansible_facts={"ekka_cluster": status})


if __name__ == "__main__":
    main()
