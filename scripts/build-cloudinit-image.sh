#!/usr/bin/env bash
# Builds marina-cloudinit:latest, a Debian 12 root filesystem with cloud-init, curl, systemd,
# OpenSSH's server and sudo, made with debootstrap from Debian's packages (no registry is needed).
# Two kinds of tests use it:
#   - the test that runs the azure provider's cloud-init for real. The test's network has no way
#     out, so the image runs only the modules that need none: write-files, runcmd and
#     scripts-user (not packages);
#   - the ssh provider's tests of its systemd mode, which run /lib/systemd/systemd as the
#     container's PID 1; systemd starts sshd (ssh.service). The image has no host keys: tests
#     copy each container's host keys and root's and ops's authorized_keys in before they start
#     it. A user "ops" may run anything as root with sudo, without a password.
# Idempotent: does nothing when the image of this script's version exists (FORCE=1 rebuilds it).
set -euo pipefail

image="${MARINA_CLOUDINIT_IMAGE:-marina-cloudinit:latest}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
version=2

if ! docker info >/dev/null 2>&1; then
  echo "build-cloudinit-image: no Docker engine reachable" >&2
  exit 1
fi
if [ "${FORCE:-}" != 1 ] &&
  [ "$(docker image inspect -f '{{index .Config.Labels "marina.cloudinit.version"}}' "$image" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "build-cloudinit-image: missing debootstrap; install it as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
# python3-cffi-backend is named because debootstrap does not resolve the virtual packages
# python3-cryptography (a dependency of cloud-init) depends on.
debootstrap --variant=minbase \
  --include=cloud-init,python3-cffi-backend,curl,ca-certificates,systemd,openssh-server,sudo \
  bookworm "$dir/rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
  { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
cat >"$dir/rootfs/etc/cloud/cloud.cfg.d/90-marina-test.cfg" <<'CFG'
# The test seeds user data as NoCloud and gives the node no way out: no package installs.
datasource_list: [NoCloud]
cloud_init_modules: [write-files]
cloud_config_modules: [runcmd]
cloud_final_modules: [scripts-user]
CFG

# sshd for the tests: their keys only (none made here), no PAM (a container may not write
# /proc/self/loginuid), as many parallel sessions as the provider opens; systemd starts it.
rm -f "$dir/rootfs/etc/ssh/ssh_host_"*
cat >"$dir/rootfs/etc/ssh/sshd_config.d/90-marina-test.conf" <<'CFG'
HostKey /etc/ssh/ssh_host_ecdsa_key
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
MaxSessions 100
MaxStartups 100
CFG
ln -sf /lib/systemd/system/ssh.service "$dir/rootfs/etc/systemd/system/multi-user.target.wants/ssh.service"
# ops: no password, but not locked ("*", not "!"), as sshd without PAM refuses locked accounts.
chroot "$dir/rootfs" useradd --uid 1000 --create-home --shell /bin/sh ops
chroot "$dir/rootfs" usermod --password '*' ops
install -d -m 0700 -o 1000 -g 1000 "$dir/rootfs/home/ops/.ssh"
install -d -m 0700 "$dir/rootfs/root/.ssh"
echo 'ops ALL=(ALL:ALL) NOPASSWD: ALL' >"$dir/rootfs/etc/sudoers.d/ops"
chmod 0440 "$dir/rootfs/etc/sudoers.d/ops"

rm -rf "$dir/rootfs/var/cache/apt/archives/"*.deb "$dir/rootfs/var/lib/apt/lists/"*
tar -C "$dir/rootfs" -c . | docker import --change "LABEL marina.cloudinit.version=$version" - "$image" >/dev/null
echo "build-cloudinit-image: built $image"
