"""Put the working tree where Ansible tools look for collections, and run those tools.

ansible-test and ansible-lint need the collection at .../ansible_collections/ekka/cluster;
a copy (not a symlink: ansible-test resolves the real path) in a temp dir gives them that
without touching the repository.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Never copied: development state, other engineers' test trees, the dev-only symlink loop.
_SKIP_TOP = {".git", ".venv", ".demo", ".bench", ".pytest_cache", ".hypothesis", ".ansible", "bench", ".ci", "scripts"}
_SKIP_ANY = {"__pycache__", "build", "dist", ".pytest_cache"}


def _ignore(dirpath: str, names: list[str]) -> set[str]:
    rel = Path(dirpath).resolve().relative_to(REPO)
    skip = {n for n in names if n in _SKIP_ANY or n.endswith(".egg-info")}
    if rel == Path("."):
        skip |= {n for n in names if n in _SKIP_TOP}
    if rel == Path("playbooks"):
        skip.add("collections")
    if rel == Path("agent"):
        skip |= {n for n in names if n != "src"}
    if rel == Path("agent/src/ekka_agent"):
        # The agent is its own Python package with its own checks; the collection's Python
        # content from it is what module_utils links to.
        skip |= {n for n in names if n not in ("naming.py", "control_client.py")}
    if rel == Path("tests"):
        # Only our own tests belong to the collection's ansible-test view.
        skip |= {n for n in names if n not in ("ansible", "sanity", "unit", "data")}
    if rel == Path("tests/data"):
        # The agent's EMQX config corpus (one file is Latin-1 on purpose) is not collection content.
        skip.add("emqx_configs")
    return skip


def copy_collection(root: Path) -> Path:
    """Copy the working tree to <root>/ansible_collections/ekka/cluster; return that path."""
    dest = root / "ansible_collections" / "ekka" / "cluster"
    shutil.copytree(REPO, dest, symlinks=True, ignore=_ignore)
    return dest


def tool(name: str) -> str:
    """An executable of the test venv (ansible-playbook, ansible-test, ansible-lint)."""
    path = BIN / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: install tests/ansible/requirements.txt into this venv")
    return str(path)


def ansible_env(collections_root: Path | None = None, **extra: str) -> dict:
    """Environment for ansible-* runs: the repo's collection, no user config, no colours."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(collections_root or REPO / "playbooks" / "collections"),
        "ANSIBLE_CONFIG": str(Path(__file__).resolve().parent / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "PATH": f"{BIN}:{env.get('PATH', '')}",
    })
    env.update(extra)
    return env


class PlayResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.recap = parse_recap(proc.stdout)

    def changed(self) -> int:
        return sum(h["changed"] for h in self.recap.values())

    def failed(self) -> int:
        return sum(h["failed"] + h["unreachable"] for h in self.recap.values())

    def changed_tasks(self) -> dict:
        """{host: [name of each task that reported changed on it]} from the default callback's
        output (a delegated task counts for the host it ran on)."""
        out: dict = {}
        task = ""
        for line in self.stdout.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                task = line[line.index("[") + 1:line.rindex("]")]
            elif line.startswith("changed: ["):
                # "changed: [node1]" or, delegated, "changed: [node1 -> node2(10.0.0.3)]"
                host = line[len("changed: ["):line.index("]")].split(" -> ")[-1].split("(")[0]
                out.setdefault(host, []).append(task)
        return out

    def __repr__(self) -> str:
        return f"rc={self.rc}\n--- stdout\n{self.stdout[-12000:]}\n--- stderr\n{self.stderr[-4000:]}"


def parse_recap(stdout: str) -> dict:
    """{host: {ok, changed, unreachable, failed, skipped, rescued, ignored}} from PLAY RECAP."""
    recap = {}
    lines = stdout.splitlines()
    try:
        start = max(i for i, line in enumerate(lines) if line.startswith("PLAY RECAP"))
    except ValueError:
        return recap
    for line in lines[start + 1:]:
        if ":" not in line or "=" not in line:
            continue
        host, rest = line.split(":", 1)
        counts = dict(kv.split("=") for kv in rest.split())
        recap[host.strip()] = {k: int(v) for k, v in counts.items()}
    return recap


def run_playbook(args: list[str], env: dict | None = None, prefix: list[str] | None = None,
                 timeout: float = 900, cwd: Path | None = None) -> PlayResult:
    """ansible-playbook ARGS (optionally inside `prefix`, such as ip netns exec NS)."""
    argv = (prefix or []) + [tool("ansible-playbook")] + [str(a) for a in args]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env or ansible_env(),
                          timeout=timeout, cwd=str(cwd or REPO), check=False)
    return PlayResult(proc)


def run_module(module: str, args: dict, env: dict | None = None, check: bool = False,
               diff: bool = False, timeout: float = 120) -> dict:
    """Run one module on localhost in a real play; return its registered result (with diff)."""
    with tempfile.TemporaryDirectory(prefix="ekka-module-") as tmp:
        out = Path(tmp) / "result.json"
        play = Path(tmp) / "play.yml"
        (Path(tmp) / "args.json").write_text(json.dumps({"ekka_test_args": args}))
        play.write_text(json.dumps([{
            "hosts": "localhost", "gather_facts": False,
            "tasks": [
                {"name": "module under test", module: "{{ ekka_test_args }}", "register": "r",
                 "ignore_errors": True},
                {"name": "save the result", "ansible.builtin.copy": {
                    "content": "{{ r | to_json }}", "dest": str(out), "mode": "0600"},
                 "check_mode": False, "diff": False},
            ]}]))
        argv = ["-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
                "-e", f"@{tmp}/args.json", str(play)]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        r = run_playbook(argv, env=env, timeout=timeout)
        if not out.exists():
            raise AssertionError(f"the module's result was not saved:\n{r!r}")
        return json.loads(out.read_text())
