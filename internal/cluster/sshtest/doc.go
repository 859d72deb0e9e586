// Package sshtest runs throwaway Linux hosts reachable over SSH, for the ssh provider's tests
// and benchmarks: containers of the local image marina-sshd:latest (OpenSSH's sshd on busybox,
// built by scripts/build-sshd-image.sh) on a private Docker network the caller's test creates,
// each with a static address, a host key of its own and root's authorized key.
//
// With the Systemd option the hosts are Debian containers (marina-cloudinit:latest, built by
// scripts/build-cloudinit-image.sh) whose PID 1 is systemd, which starts sshd: the ssh
// provider then runs its nodes as systemd units.
//
// Start returns the hosts with a private key file and a known_hosts file that lists every
// host's key, so the provider is tested with host keys checked. Tests skip when no Docker
// Engine answers or the image is missing. Hosts, network and files are removed in t.Cleanup.
package sshtest
