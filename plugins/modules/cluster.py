#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ekka.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster
short_description: Join an ekka node to a cluster, or remove a node from it
version_added: 0.1.0
description:
  - Talks to the local ekka agent over its control socket. It reads the agent's status
    first and joins, leaves or force-leaves only when the membership really differs from
    the requested state, so running it again changes nothing.
options:
  state:
    description:
      - V(joined) makes this node a member of the cluster that O(node) belongs to.
      - V(absent) removes O(node) from this node's cluster. When O(node) is this node
        itself (or omitted), this node leaves; otherwise the other node is force-left.
    type: str
    choices: [joined, absent]
    default: joined
  node:
    description:
      - A node name C(name@host). Required when O(state=joined).
    type: str
  timeout:
    description:
      - Seconds to wait for the agent to answer, and with O(wait) for the change to show.
    type: float
    default: 30
  wait:
    description:
      - Wait until the change shows in the agent's status (O(node) running in this
        node's cluster for V(joined), gone from it for V(absent)).
    type: bool
    default: true
extends_documentation_fragment:
  - ekka.cluster.agent
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the status and reports what it would change.
  diff_mode:
    support: full
    details: The cluster members before and after.
  platform:
    platforms: posix
author:
  - ekka.cluster maintainers (@ekka-cluster)
seealso:
  - module: ekka.cluster.cluster_info
"""

EXAMPLES = r"""
- name: Join the cluster of the first node
  ekka.cluster.cluster:
    state: joined
    node: ekka1@10.0.0.1

- name: This node leaves its cluster
  ekka.cluster.cluster:
    state: absent

- name: Remove a dead node from the cluster
  ekka.cluster.cluster:
    state: absent
    node: ekka4@10.0.0.4
"""

RETURN = r"""
node:
  description: This node's name.
  returned: always
  type: str
  sample: ekka2@10.0.0.2
action:
  description: What was done, C(join), C(leave), C(force_leave), or C(none).
  returned: always
  type: str
  sample: join
members:
  description: The cluster's members after the change (in check mode, as they would be).
  returned: always
  type: list
  elements: str
  sample: [ekka1@10.0.0.1, ekka2@10.0.0.2]
status:
  description: The agent's status after the change, as ekka.cluster.cluster_info returns it.
  returned: always
  type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ekka.cluster.plugins.module_utils._control_client import (
    AgentUnreachable,
    ControlError,
)
from ansible_collections.ekka.cluster.plugins.module_utils._agent import AGENT_ARGS, agent_client
from ansible_collections.ekka.cluster.plugins.module_utils._naming import NodeNameError, parse_node


def members_of(status):
    return sorted(m["node"] for m in status.get("members") or [])


def running_of(status):
    return sorted(status.get("running_nodes") or [])


class ClusterModule(object):
    def __init__(self, module):
        self.module = module
        p = module.params
        self.client = agent_client(p)
        self.deadline = time.monotonic() + p["timeout"]

    def status(self):
        return self.client.call("status")

    def fail(self, msg, **extra):
        self.module.fail_json(msg=msg, **extra)

    def wait_until(self, pred, what):
        """Poll the status until pred(status) holds; the agent converges in its own time."""
        while True:
            status = self.status()
            if pred(status):
                return status
            if time.monotonic() >= self.deadline:
                self.fail("timed out after %ss waiting for %s" % (self.module.params["timeout"], what),
                          status=status)
            time.sleep(0.2)

    def run(self):
        p = self.module.params
        status = self.status()
        me = status["node"]
        target = p["node"] or me
        before = members_of(status)
        if p["state"] == "joined":
            if target == me or target in before:
                return self.done(status, "none", before, before)
            # Joining another cluster leaves the current one; the real list comes from the agent.
            after = sorted({me, target})
            return self.change("join", status, before, after, target,
                               lambda s: target in running_of(s) and me in running_of(s),
                               "%s to run in the cluster of %s" % (target, me))
        # absent
        if target == me:
            if set(before) <= {me}:
                return self.done(status, "none", before, before)
            return self.change("leave", status, before, [me], None,
                               lambda s: set(members_of(s)) <= {me}, "%s to leave its cluster" % me)
        if target not in before:
            return self.done(status, "none", before, before)
        after = [m for m in before if m != target]
        return self.change("force_leave", status, before, after, target,
                           lambda s: target not in members_of(s), "%s to be removed" % target)

    def change(self, action, status, before, after, target, settled, what):
        if not self.module.check_mode:
            args = {"node": target} if target else {}
            try:
                self.client.call(action, **args)
            except ControlError as e:
                # Someone (autocluster, another play) got there first: re-read and judge.
                if e.error not in ("already_in_cluster", "node_not_in_cluster"):
                    self.fail("%s %s failed: %s: %s" % (action, target or "", e.error, e),
                              error=e.error, reply=e.reply)
                status = self.status()
                if not settled(status):
                    self.fail("%s %s failed: %s: %s" % (action, target or "", e.error, e),
                              error=e.error, reply=e.reply, status=status)
                return self.done(status, "none", before, members_of(status))
            if self.module.params["wait"]:
                status = self.wait_until(settled, what)
            else:
                status = self.status()
            after = members_of(status)
        return self.done(status, action, before, after, changed=True)

    def done(self, status, action, before, after, changed=False):
        result = dict(changed=changed, node=status["node"], action=action, members=after, status=status)
        if self.module._diff:
            result["diff"] = dict(
                before={"members": before}, after={"members": after},
                before_header="%s cluster" % status["node"], after_header="%s cluster" % status["node"])
        self.module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="joined", choices=["joined", "absent"]),
            node=dict(type="str"),
            **AGENT_ARGS,
            timeout=dict(type="float", default=30),
            wait=dict(type="bool", default=True),
        ),
        required_if=[("state", "joined", ("node",))],
        supports_check_mode=True,
    )
    if module.params["node"]:
        try:
            module.params["node"] = str(parse_node(module.params["node"]))
        except NodeNameError as e:
            module.fail_json(msg="node: %s" % e)
    try:
        ClusterModule(module).run()
    except AgentUnreachable as e:
        module.fail_json(msg="the ekka agent is not reachable: %s" % e)
    except ControlError as e:
        module.fail_json(msg="the ekka agent refused: %s: %s" % (e.error, e), error=e.error, reply=e.reply)


if __name__ == "__main__":
    main()
