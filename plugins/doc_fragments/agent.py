# -*- coding: utf-8 -*-
# Copyright: ekka.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # How a module finds the local agent: the options every ekka.cluster module shares.
    DOCUMENTATION = r"""
options:
  data_dir:
    description:
      - The agent's C(node.data_dir); the control socket is C(<data_dir>/ekka.sock).
    type: path
    default: /var/lib/ekka
  socket:
    description:
      - The control socket path, overriding O(data_dir).
    type: path
"""
