#!/usr/bin/env bash
# Build (once) a Debian root file system the systemd-nspawn test hosts boot from.
#   build_rootfs.sh [bookworm|trixie]     prints the directory of the finished image
# Cached under /var/cache/ekka-test, keyed by the recipe: the directory name carries a
# digest of this script and the suite, so editing the recipe builds a new image and an
# unchanged recipe reuses the old one. Safe to run concurrently (also two suites at once).
set -euo pipefail
SUITE=${1:-bookworm}
CACHE=${EKKA_TEST_CACHE:-/var/cache/ekka-test}
# The mirror the machine's own apt uses (deb822 or one-line sources), else Debian's CDN.
mirror_of_apt() {
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true
  } | awk '$1 == "URIs:" {print $2} $1 == "deb" {print $2}' | { grep -v -e security || true; } | head -n 1
}
MIRROR=${EKKA_TEST_MIRROR:-$(mirror_of_apt)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
# python3 for Ansible (each suite's own: 3.11 on bookworm, 3.13 on trixie). bookworm
# carries every firewall backend the role drives: nftables, iptables, ufw (off, as Debian
# ships it) and firewalld (installed but disabled, so `auto` finds it only where a test
# starts it). No python3-venv and no network on the hosts: the agent role brings all it needs.
case "$SUITE" in
  bookworm) PKGS=systemd,systemd-sysv,dbus,iproute2,python3,openssh-server,nftables,iptables,ufw
            LATER=firewalld ;;
  trixie)   PKGS=systemd,systemd-sysv,dbus,iproute2,python3,openssh-server,nftables
            LATER= ;;
  *) echo "build_rootfs.sh: suite $SUITE: allowed: bookworm, trixie" >&2; exit 2 ;;
esac
digest=$( (cat "$0"; echo "$SUITE") | sha256sum | cut -c1-12)
ROOT="$CACHE/rootfs-$SUITE-$digest"
mkdir -p "$CACHE"
# One lock per suite: the two images build at the same time, each only once.
exec 9>"$CACHE/.rootfs-$SUITE.lock"
flock 9
# .last-used marks an image as in use, so a concurrent run of an older checkout keeps its own.
if [ -e "$ROOT/.complete" ]; then touch "$ROOT/.last-used"; echo "$ROOT"; exit 0; fi
# Older images of this suite are of no further use once nothing has booted them for an hour.
for old in "$CACHE"/rootfs-"$SUITE"-*; do
  [ -e "$old" ] || continue
  [ "$old" = "$ROOT" ] && continue
  [ -n "$(find "$old/.last-used" -mmin -60 2>/dev/null)" ] || rm -rf "$old"
done
tmp="$ROOT.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$tmp" "$MIRROR" >&2
# Packages whose maintainer scripts need a mounted /proc (firewalld's polkitd) go in after.
if [ -n "$LATER" ]; then
  mount -t proc proc "$tmp/proc"
  trap 'umount "$tmp/proc" 2>/dev/null || true; rm -rf "$tmp"' EXIT
  chroot "$tmp" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends $LATER" >&2
  umount "$tmp/proc"
  trap 'rm -rf "$tmp"' EXIT
fi
rm -f "$tmp/etc/hostname"                 # so --hostname= wins
rm -f "$tmp/etc/machine-id"; touch "$tmp/etc/machine-id"
# Root logs in with a key bound in at boot; nothing else.
mkdir -p "$tmp/root/.ssh" "$tmp/etc/ssh/sshd_config.d"
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' \
  > "$tmp/etc/ssh/sshd_config.d/ekka-test.conf"
# Do not wait for network-online or run timers that only slow a short life; firewalld is
# started by the test that wants it.
chroot "$tmp" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
  fstrim.timer systemd-networkd-wait-online.service >/dev/null 2>&1 || true
chroot "$tmp" systemctl disable firewalld.service >/dev/null 2>&1 || true
apt_clean() { rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*; }
apt_clean "$tmp"
touch "$tmp/.complete" "$tmp/.last-used"
rm -rf "$ROOT"
mv "$tmp" "$ROOT"
trap - EXIT
echo "$ROOT"
