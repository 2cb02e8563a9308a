"""ansible-test sanity and ansible-lint (production profile) over a copy of the collection."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from collection import ansible_env, tool

# ansible-test fetches a get-pip script from a host these machines cannot reach; this
# stand-in bootstraps pip from the interpreter's own ensurepip and installs from PyPI.
GET_PIP_STANDIN = '''\
import subprocess, sys
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
'''


def _install_get_pip_standin() -> None:
    import ansible_test

    reqs = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    version = re.search(r"pip='([0-9.]+)'", reqs.read_text()).group(1)
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"get_pip_{version.replace('.', '_')}.py"
    if not target.exists() or target.read_text() != GET_PIP_STANDIN:
        target.write_text(GET_PIP_STANDIN)


def test_ansible_test_sanity(collection_copy):
    _install_get_pip_standin()
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    r = subprocess.run(
        [tool("ansible-test"), "sanity", "--local", "--python", py, "--color", "no"],
        cwd=collection_copy, capture_output=True, text=True, check=False, timeout=900,
        env=ansible_env(collection_copy.parents[2]))
    assert r.returncode == 0, f"ansible-test sanity failed:\n{r.stdout[-8000:]}\n{r.stderr[-8000:]}"


def test_ansible_lint_production(collection_copy):
    r = subprocess.run(
        [tool("ansible-lint"), "--offline", "--profile", "production", "--nocolor"],
        cwd=collection_copy, capture_output=True, text=True, check=False, timeout=600,
        env=ansible_env(collection_copy.parents[2]))
    assert r.returncode == 0, f"ansible-lint failed:\n{r.stdout[-8000:]}\n{r.stderr[-4000:]}"


def test_galaxy_build(tmp_path):
    """The artifact carries the plugins, roles, playbooks and the agent's source, no tests."""
    import tarfile

    from collection import REPO

    r = subprocess.run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)],
                       cwd=REPO, capture_output=True, text=True, check=False, timeout=300, env=ansible_env())
    assert r.returncode == 0, r.stdout + r.stderr
    with tarfile.open(next(tmp_path.glob("ekka-cluster-*.tar.gz"))) as tar:
        names = set(tar.getnames())
    for needed in ("MANIFEST.json", "meta/runtime.yml", "plugins/filter/naming.py",
                   "plugins/modules/cluster.py", "plugins/module_utils/_naming.py",
                   "agent/src/ekka_agent/naming.py", "agent/pyproject.toml", "playbooks/site.yml",
                   "roles/agent/meta/argument_specs.yml", "changelogs/changelog.yaml"):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tests/", "bench/", ".demo", "playbooks/collections"))]
