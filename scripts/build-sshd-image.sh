#!/usr/bin/env bash
# Builds marina-sshd:latest, the "host" the ssh provider's tests and benchmark stand clusters up
# on: OpenSSH's sshd from this machine's openssh-server with the shared libraries it loads,
# busybox-static for /bin/sh and the usual commands, a minimal /etc. No registry is needed.
# A user "ops" may run anything as root with sudo, without a password, for tests of non-root
# logins. Tests copy each container's host key and the authorized_keys in before they start it.
# Idempotent: does nothing when the image of this script's version exists (FORCE=1 rebuilds it).
set -euo pipefail

image="${MARINA_SSHD_IMAGE:-marina-sshd:latest}"
version=3

if ! docker info >/dev/null 2>&1; then
  echo "build-sshd-image: no Docker engine reachable" >&2
  exit 1
fi
if [ "${FORCE:-}" != 1 ] &&
  [ "$(docker image inspect -f '{{index .Config.Labels "marina.sshd.version"}}' "$image" 2>/dev/null)" = "$version" ]; then
  exit 0
fi

sshd=/usr/sbin/sshd
sudo=/usr/bin/sudo
busybox=/bin/busybox
missing=()
[ -x "$sshd" ] || missing+=(openssh-server)
[ -x "$sudo" ] || missing+=(sudo)
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

# sshd, sudo with its sudoers plugin and PAM's pam_permit, and every library they load, at the
# same paths.
pam_permit="$(dirname "$(ldd "$sshd" | grep -o '/[^ ]*libc.so.6')")/security/pam_permit.so"
for f in "$sshd" "$sudo" /usr/libexec/sudo/sudoers.so /usr/libexec/sudo/libsudo_util.so.0 "$pam_permit"; do
  for lib in "$f" $(ldd "$f" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done
chmod 4755 "$root$sudo"

# busybox gives /bin/sh and the commands the provider runs (setsid, sha256sum, kill, ...).
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
sshd:x:100:65534::/run/sshd:/bin/false
ops:x:1000:1000::/home/ops:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
printf 'root:x:0:\nops:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
mkdir -p "$root/home/ops/.ssh" "$root/etc/pam.d"
chmod 0700 "$root/home/ops" "$root/home/ops/.ssh"
chown -R 1000:1000 "$root/home/ops"
printf 'root ALL=(ALL:ALL) ALL\nops ALL=(ALL:ALL) NOPASSWD: ALL\n' >"$root/etc/sudoers"
chmod 0440 "$root/etc/sudoers"
for t in auth account session password; do echo "$t required pam_permit.so"; done >"$root/etc/pam.d/sudo"
cat >"$root/etc/ssh/sshd_config" <<'EOF'
Port 22
HostKey /etc/ssh/ssh_host_ecdsa_key
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
  --change "LABEL marina.sshd.version=$version" \
  - "$image" >/dev/null
echo "build-sshd-image: built $image"
