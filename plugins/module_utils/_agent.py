# -*- coding: utf-8 -*-
# Copyright: ekka.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module needs to reach the local agent (documented in doc_fragments/agent.py)."""
from __future__ import annotations

from ansible_collections.ekka.cluster.plugins.module_utils._control_client import (
    AgentUnreachable,
    ControlClient,
    ControlError,
    socket_path,
)

AGENT_ARGS = dict(
    data_dir=dict(type="path", default="/var/lib/ekka"),
    socket=dict(type="path"),
)


def agent_client(params):
    """A control-socket client for the module's data_dir / socket / timeout parameters."""
    return ControlClient(params["socket"] or socket_path(params["data_dir"]), timeout=params["timeout"])


def status_module():
    """An AnsibleModule taking the agent options and a timeout, and the agent's status;
    fails the module with one line when the agent does not answer or refuses."""
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(argument_spec=dict(**AGENT_ARGS, timeout=dict(type="float", default=10)),
                           supports_check_mode=True)
    try:
        return module, agent_client(module.params).call("status")
    except AgentUnreachable as e:
        module.fail_json(msg="the ekka agent is not reachable: %s" % e)
    except ControlError as e:
        module.fail_json(msg="the ekka agent refused: %s: %s" % (e.error, e), error=e.error, reply=e.reply)
