#!/usr/bin/env bash
# Build (once) the Debian root file system the systemd-nspawn test hosts boot from.
# Cached under /var/cache/ekka-test; the directory name carries a digest of the suite,
# the packages and LAYOUT (bump it when the setup below changes). Safe to run concurrently.
set -euo pipefail
CACHE=${EKKA_TEST_CACHE:-/var/cache/ekka-test}
SUITE=bookworm
MIRROR=${EKKA_TEST_MIRROR:-http://deb.debian.org/debian}
# python3 for Ansible; nftables, iptables and ufw for the firewall role's backends (ufw
# stays disabled: Debian ships it off). No python3-venv and no network on the hosts, so
# the agent role has to bring everything it needs.
PKGS=systemd,systemd-sysv,dbus,iproute2,python3,openssh-server,nftables,iptables,ufw
LAYOUT=1
digest=$(echo "$SUITE $PKGS $LAYOUT" | sha256sum | cut -c1-12)
ROOT="$CACHE/rootfs-$SUITE-$digest"
mkdir -p "$CACHE"
exec 9>"$CACHE/.rootfs.lock"
flock 9
# .last-used marks a layout as in use, so a concurrent run of an older checkout keeps its own.
if [ -e "$ROOT/.complete" ]; then touch "$ROOT/.last-used"; echo "$ROOT"; exit 0; fi
# Older layouts are of no further use once nothing has booted them for an hour.
for old in "$CACHE"/rootfs-*; do
  [ "$old" = "$ROOT" ] && continue
  [ -n "$(find "$old/.last-used" -mmin -60 2>/dev/null)" ] || rm -rf "$old"
done
tmp="$ROOT.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$tmp" "$MIRROR" >&2
rm -f "$tmp/etc/hostname"                 # so --hostname= wins
rm -f "$tmp/etc/machine-id"; touch "$tmp/etc/machine-id"
# Root logs in with a key bound in at boot; nothing else.
mkdir -p "$tmp/root/.ssh" "$tmp/etc/ssh/sshd_config.d"
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' \
  > "$tmp/etc/ssh/sshd_config.d/ekka-test.conf"
# Do not wait for network-online or run timers that only slow a 10-second life.
chroot "$tmp" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
  fstrim.timer systemd-networkd-wait-online.service >/dev/null 2>&1 || true
apt_clean() { rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*; }
apt_clean "$tmp"
touch "$tmp/.complete" "$tmp/.last-used"
rm -rf "$ROOT"
mv "$tmp" "$ROOT"
trap - EXIT
echo "$ROOT"
