# -*- coding: utf-8 -*-
# Copyright: ekka.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module needs to reach the local agent (documented in doc_fragments/agent.py)."""
from __future__ import annotations

from ansible_collections.ekka.cluster.plugins.module_utils._control_client import ControlClient, socket_path

AGENT_ARGS = dict(
    data_dir=dict(type="path", default="/var/lib/ekka"),
    socket=dict(type="path"),
)


def agent_client(params):
    """A control-socket client for the module's data_dir / socket / timeout parameters."""
    return ControlClient(params["socket"] or socket_path(params["data_dir"]), timeout=params["timeout"])
