#!/usr/bin/env bash
# Installs what Marina's tests need, idempotently: only what is missing is installed.
set -euo pipefail

need=()
command -v sleep >/dev/null || need+=(coreutils)
command -v sh >/dev/null || need+=(dash)
command -v chromium >/dev/null || need+=(chromium) # the consoles' browser tests

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# The docker executor's tests and benchmarks run a local busybox image, built from Debian's
# busybox-static since no registry may be reachable; without an engine they skip.
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  "$(dirname "$0")/build-test-image.sh"
  # The ssh provider's tests stand clusters up on sshd containers built from openssh-server.
  "$(dirname "$0")/build-sshd-image.sh"
  # The azure provider's cloud-init and the ssh provider's systemd mode run on a Debian image made with debootstrap.
  "$(dirname "$0")/build-cloudinit-image.sh"
else
  echo "test-deps: no Docker engine reachable: the docker executor's tests will skip" >&2
fi
