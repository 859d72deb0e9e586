#!/usr/bin/env bash
# Installs what Marina's tests need, idempotently: only what is missing is installed.
set -euo pipefail

need=()
command -v sleep >/dev/null || need+=(coreutils)
command -v sh >/dev/null || need+=(dash)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
