#!/usr/bin/env bash
# Builds marina-busybox:latest, the image the docker executor's tests and benchmarks run, from
# Debian's busybox-static: no registry is needed. Idempotent: does nothing when the image exists
# (FORCE=1 rebuilds it).
set -euo pipefail

image="${MARINA_TEST_IMAGE:-marina-busybox:latest}"

if ! docker info >/dev/null 2>&1; then
  echo "build-test-image: no Docker engine reachable" >&2
  exit 1
fi
if [ "${FORCE:-}" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi

busybox=/bin/busybox
if [ ! -x "$busybox" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "build-test-image: $busybox is missing; install busybox-static as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static
fi
# The image must not depend on the host's libraries.
if ldd "$busybox" >/dev/null 2>&1; then
  echo "build-test-image: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/mnt/mesos/sandbox"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in sh ash cat echo env false true sleep ls mkdir rm touch test '[' head tail tr dd wc \
  grep sed kill ps id hostname pwd printf nc httpd wget ip ifconfig date seq yes; do
  ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/bin' \
  --change 'CMD ["/bin/sh"]' \
  - "$image" >/dev/null
echo "build-test-image: built $image"
