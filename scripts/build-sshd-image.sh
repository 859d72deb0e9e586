#!/usr/bin/env bash
# Builds marina-sshd:latest, the "host" the ssh provider's tests and benchmark stand clusters up
# on: OpenSSH's sshd from this machine's openssh-server with the shared libraries it loads,
# busybox-static for /bin/sh and the usual commands, a minimal /etc. No registry is needed.
# Tests copy each container's host key and root's authorized_keys in before they start it.
# Idempotent: does nothing when the image exists (FORCE=1 rebuilds it).
set -euo pipefail

image="${MARINA_SSHD_IMAGE:-marina-sshd:latest}"

if ! docker info >/dev/null 2>&1; then
  echo "build-sshd-image: no Docker engine reachable" >&2
  exit 1
fi
if [ "${FORCE:-}" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi

sshd=/usr/sbin/sshd
busybox=/bin/busybox
missing=()
[ -x "$sshd" ] || missing+=(openssh-server)
[ -x "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "build-sshd-image: missing ${missing[*]}; install them as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/sbin,usr/bin,etc/ssh,root/.ssh,run/sshd,var/lib,var/log,tmp,proc,sys,dev}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root" "$root/root/.ssh"

# sshd and every library it loads, at the same paths.
cp "$sshd" "$root/usr/sbin/sshd"
for lib in $(ldd "$sshd" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

# busybox gives /bin/sh and the commands the provider runs (setsid, sha256sum, kill, ...).
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
sshd:x:100:65534::/run/sshd:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
cat >"$root/etc/ssh/sshd_config" <<'EOF'
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PidFile /run/sshd.pid
MaxSessions 100
MaxStartups 100
EOF

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/usr/sbin/sshd", "-D", "-e"]' \
  - "$image" >/dev/null
echo "build-sshd-image: built $image"
