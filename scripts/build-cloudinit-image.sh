#!/usr/bin/env bash
# Builds marina-cloudinit:latest, a Debian 12 root filesystem with cloud-init, curl and systemd's
# tools, made with debootstrap from Debian's packages (no registry is needed), for the test that
# runs the azure provider's cloud-init for real. The test's network has no way out, so the image
# runs only the modules that need none: write-files, runcmd and scripts-user (not packages).
# Idempotent: does nothing when the image exists (FORCE=1 rebuilds it).
set -euo pipefail

image="${MARINA_CLOUDINIT_IMAGE:-marina-cloudinit:latest}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if ! docker info >/dev/null 2>&1; then
  echo "build-cloudinit-image: no Docker engine reachable" >&2
  exit 1
fi
if [ "${FORCE:-}" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
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
debootstrap --variant=minbase --include=cloud-init,python3-cffi-backend,curl,ca-certificates,systemd \
  bookworm "$dir/rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
  { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
cat >"$dir/rootfs/etc/cloud/cloud.cfg.d/90-marina-test.cfg" <<'CFG'
# The test seeds user data as NoCloud and gives the node no way out: no package installs.
datasource_list: [NoCloud]
cloud_init_modules: [write-files]
cloud_config_modules: [runcmd]
cloud_final_modules: [scripts-user]
CFG
rm -rf "$dir/rootfs/var/cache/apt/archives/"*.deb "$dir/rootfs/var/lib/apt/lists/"*
tar -C "$dir/rootfs" -c . | docker import - "$image" >/dev/null
echo "build-cloudinit-image: built $image"
