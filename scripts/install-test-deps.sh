#!/bin/bash
# Installs everything the real-process tests need (Debian 12, run as root), then the repo's .venv.
# Idempotent: apt is only touched when a package is missing, pip only when a requirement file changed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
python="${EKKA_TEST_PYTHON:-}"

step() { echo "install-test-deps: $*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: must run as root (apt-get, network namespaces)" >&2
    exit 1
fi

# erlang-base gives Debian's epmd; python3-venv lets /usr/bin/python3.11 make venvs.
packages=(nftables iptables iproute2 etcd-server etcd-client dnsmasq openssh-server erlang-base serf
          systemd-container debootstrap python3.11 python3-venv shellcheck)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    step "apt-get update (missing: ${missing[*]})"
    apt-get update -qq
    step "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    step "apt packages present (${#packages[@]})"
fi

# The real-host tests boot Debian 12 and 13 images (tests/ansible/hosts/build_rootfs.sh, cached
# under /var/cache/ekka-test). On a new machine they take minutes to build: start them now, beside
# the pip install; the tests' own call waits on the same per-suite lock and reuses the result
# (or builds again and reports the error, if this one failed).
rootfs_script="$repo/tests/ansible/hosts/build_rootfs.sh"
if [ -f "$rootfs_script" ]; then
    mkdir -p /var/cache/ekka-test
    for suite in bookworm trixie; do
        setsid bash "$rootfs_script" "$suite" >"/var/cache/ekka-test/build-$suite.log" 2>&1 </dev/null &
    done
    step "building the test hosts' images in the background (/var/cache/ekka-test/build-*.log)"
fi

if [ ! -x "$venv/bin/python" ]; then
    if [ -z "$python" ]; then
        # Debian's interpreter first: it exists on a fresh machine, unlike pyenv shims.
        for c in /usr/bin/python3.11 python3.11; do
            if command -v "$c" >/dev/null 2>&1; then python="$(command -v "$c")"; break; fi
        done
    fi
    [ -n "$python" ] || { echo "install-test-deps: no python3.11 found" >&2; exit 1; }
    step "create $venv with $python"
    "$python" -m venv "$venv"
else
    step "venv present: $venv ($("$venv/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])'))"
fi

# Skip pip entirely when nothing it would read has changed since the last successful run.
stamp="$venv/.ekka-test-deps.sha256"
inputs=()
[ -f "$repo/agent/pyproject.toml" ] && inputs+=("$repo/agent/pyproject.toml")
[ -f "$repo/tests/requirements.txt" ] && inputs+=("$repo/tests/requirements.txt")
[ -f "$repo/tests/ansible/requirements.txt" ] && inputs+=("$repo/tests/ansible/requirements.txt")
sum="$( (echo "${inputs[*]}"; cat "${inputs[@]}" </dev/null 2>/dev/null) | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    step "python requirements unchanged since last install"
    exit 0
fi

# pip's own output is shown only when it fails; the machine's pip.conf lists find-links that
# may not exist, and those warnings are harmless.
pip_quiet() {
    local log rc=0
    log="$(mktemp)"
    "$venv/bin/python" -m pip "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        grep -v "^WARNING: Location 'file://" "$log" >&2 || true
        echo "install-test-deps: pip $1 failed (rc=$rc)" >&2
    fi
    rm -f "$log"
    return "$rc"
}

step "upgrade pip"
pip_quiet install -q --upgrade pip

args=()
if [ -f "$repo/agent/pyproject.toml" ]; then args+=(-e "$repo/agent[test]"); fi
if [ -f "$repo/tests/requirements.txt" ]; then args+=(-r "$repo/tests/requirements.txt"); fi
if [ -f "$repo/tests/ansible/requirements.txt" ]; then args+=(-r "$repo/tests/ansible/requirements.txt"); fi
if [ ${#args[@]} -gt 0 ]; then
    step "pip install ${args[*]}"
    pip_quiet install -q "${args[@]}"
    if ! "$venv/bin/python" -m pip check >/dev/null 2>&1; then
        step "warning: pip check reports conflicts:"
        "$venv/bin/python" -m pip check || true
    fi
fi
echo "$sum" >"$stamp"
step "done"
