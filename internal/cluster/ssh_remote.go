package cluster

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// The shell scripts the ssh provider runs on hosts, as root, with /bin/sh (POSIX sh: dash,
// bash or busybox). They use only what Preflight checks for (sshCommands).

// unitDir is where units are installed.
const unitDir = "/etc/systemd/system"

// sshCommands are the commands the scripts need besides the shell's built-ins.
var sshCommands = []string{"setsid", "sha256sum", "tail", "cat", "mkdir", "rm", "mv", "chmod",
	"readlink", "find", "cmp", "base64", "grep", "sed", "tr", "sleep", "uname", "id", "ls", "date"}

// factsScript prints what Preflight checks, in sections.
var factsScript = `echo "os $(uname -s)"
echo "arch $(uname -m)"
echo "uid $(id -u)"
echo "time $(date +%s)"
for c in ` + strings.Join(sshCommands, " ") + `; do command -v "$c" >/dev/null 2>&1 || echo "missing $c"; done
echo "--- tcp"
cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
echo "--- fib"
cat /proc/net/fib_trie 2>/dev/null
echo "--- inet6"
cat /proc/net/if_inet6 2>/dev/null
`

// hostFacts is what factsScript found.
type hostFacts struct {
	os, arch, uid string
	time          int64 // the host's clock, Unix seconds; 0 when unknown
	missing       []string
	listening     map[int]bool // TCP ports something listens on, on any address
	addrs         []string     // the host's own addresses
}

// localAddr reports whether ip is one of the host's addresses; true when they are unknown.
func (f hostFacts) localAddr(ip string) bool {
	if len(f.addrs) == 0 {
		return true
	}
	want := net.ParseIP(ip)
	for _, a := range f.addrs {
		if net.ParseIP(a).Equal(want) {
			return true
		}
	}
	return false
}

// parseHostFacts parses factsScript's output.
func parseHostFacts(out []byte) hostFacts {
	f := hostFacts{listening: map[int]bool{}}
	section := ""
	lastFib := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "--- "); ok {
			section = s
			continue
		}
		fields := strings.Fields(line)
		switch section {
		case "":
			if len(fields) < 2 {
				continue
			}
			switch fields[0] {
			case "os":
				f.os = fields[1]
			case "arch":
				f.arch = fields[1]
			case "uid":
				f.uid = fields[1]
			case "time":
				f.time, _ = strconv.ParseInt(fields[1], 10, 64)
			case "missing":
				f.missing = append(f.missing, fields[1])
			}
		case "tcp":
			// "sl local_address rem_address st ...": 0: 0100007F:0CEA 00000000:0000 0A
			if len(fields) < 4 || fields[3] != "0A" { // 0A is LISTEN
				continue
			}
			_, port, ok := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(port, 16, 16); ok && err == nil {
				f.listening[int(p)] = true
			}
		case "fib":
			// "|-- 10.0.0.5" followed by "/32 host LOCAL" marks an address of the host.
			if ip, ok := strings.CutPrefix(strings.TrimSpace(line), "|-- "); ok {
				lastFib = ip
			} else if strings.Contains(line, "/32 host LOCAL") && lastFib != "" {
				if !slices.Contains(f.addrs, lastFib) {
					f.addrs = append(f.addrs, lastFib)
				}
			}
		case "inet6":
			if len(fields) > 0 && len(fields[0]) == 32 {
				if b, err := hex.DecodeString(fields[0]); err == nil {
					f.addrs = append(f.addrs, net.IP(b).String())
				}
			}
		}
	}
	return f
}

// markerFile, in the remote directory, names the cluster that owns it. Destroy removes only a
// directory that has it: a dir setting naming a directory of something else must never lead to
// its removal, or to a sweep of its processes.
const markerFile = ".marina-cluster"

// provisionScript claims the remote directory for cluster name and makes dirs in it.
func provisionScript(r nodeFiles, name string, dirs []string) string {
	return fmt.Sprintf(`set -e
umask 077
root=%s
name=%s
marker="$root/%s"
if [ -f "$marker" ]; then
	owner=$(cat "$marker")
	if [ "$owner" != "$name" ]; then echo "$root belongs to cluster $owner" >&2; exit 1; fi
elif [ -d "$root" ] && [ -n "$(ls -A "$root")" ]; then
	echo "$root exists and was not made by marina: refusing to use it (set provider.settings.dir)" >&2
	exit 1
fi
mkdir -p "$root"
echo "$name" > "$marker"
mkdir -p %s
`, shellQuote(r.root), shellQuote(name), markerFile, quoteAll(dirs))
}

// unitFile is node n's systemd unit. Agents are stopped alone (KillMode=process): their tasks
// outlive an agent's restart by design, and the agent re-attaches to them.
func unitFile(c *Cluster, n *Node, r nodeFiles) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[Unit]\nDescription=Marina %s %s of cluster %s\n", n.Role, n.Name, c.Name)
	// A node keeps being restarted however often it fails: systemd's default start limit would
	// give up on a node that fails quickly while its masters are away.
	b.WriteString("Wants=network-online.target\nAfter=network-online.target\nStartLimitIntervalSec=0\n\n[Service]\n")
	fmt.Fprintf(&b, "ExecStart=%s\n", systemdQuote(append([]string{r.binary()}, n.Args...)))
	fmt.Fprintf(&b, "WorkingDirectory=%s\n", n.WorkDir) // a path, unquoted: systemd takes quotes literally here
	fmt.Fprintf(&b, "StandardOutput=append:%s\nStandardError=append:%s\n", n.LogFile, n.LogFile)
	b.WriteString("Restart=on-failure\nRestartSec=2\nTimeoutStopSec=10\nLimitNOFILE=1048576\n")
	if n.Role == RoleAgent {
		b.WriteString("KillMode=process\nDelegate=yes\n")
	}
	b.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	return b.String()
}

// systemdQuote quotes a command line for ExecStart: every word in double quotes, with systemd's
// specifiers (%) and variables ($) escaped.
func systemdQuote(words []string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$", "\n", `\n`)
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = `"` + r.Replace(w) + `"`
	}
	return strings.Join(q, " ")
}

// aliveFunc defines alive PIDFILE: prints the pid recorded in PIDFILE when that process runs
// the cluster's binary, and fails otherwise.
const aliveFunc = `alive() {
	p=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$p" ] && [ -r "/proc/$p/cmdline" ] || return 1
	tr '\0' '\n' < "/proc/$p/cmdline" | grep -qxF -- "$bin" || return 1
	echo "$p"
}
`

// startScript starts node n and prints its pid: through systemd when it runs, installing or
// updating the unit, else in a new session with its pid in a file. A node already running is
// left alone.
func startScript(r nodeFiles, unit, unitText string, n *Node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\numask 077\nbin=%s\npidf=%s\nlog=%s\nwork=%s\nunit=%s\n",
		shellQuote(r.binary()), shellQuote(r.pidFile(n.Name)), shellQuote(n.LogFile), shellQuote(n.WorkDir), shellQuote(unit))
	b.WriteString(aliveFunc)
	b.WriteString(`mkdir -p "$work" "${log%/*}" "${pidf%/*}"
if [ -d /run/systemd/system ]; then
	f=` + unitDir + `/$unit
	cat > "$f.new" <<'MARINA_UNIT_END'
` + unitText + `MARINA_UNIT_END
	chmod 644 "$f.new"
	if [ -f "$f" ] && cmp -s "$f" "$f.new" 2>/dev/null; then
		rm -f "$f.new"
		systemctl enable --quiet --now "$unit" || { systemctl status --no-pager "$unit" >&2; exit 1; }
	else
		mv -f "$f.new" "$f"
		systemctl daemon-reload
		systemctl enable --quiet "$unit"
		systemctl restart "$unit" || { systemctl status --no-pager "$unit" >&2; exit 1; }
	fi
	systemctl show -p MainPID --value "$unit"
	exit 0
fi
if alive "$pidf"; then exit 0; fi
rm -f "$pidf"
cd "$work"
umask 022 # as under systemd; the node's own secrets are written 0600 regardless
setsid sh -c 'echo $$ > "$0"; exec "$@"' "$pidf" "$bin" `)
	b.WriteString(quoteAll(n.Args))
	b.WriteString(` </dev/null >>"$log" 2>&1 &
i=0
while [ ! -s "$pidf" ]; do
	i=$((i+1))
	if [ "$i" -gt 200 ]; then echo "the node wrote no pid file in 10s" >&2; exit 1; fi
	sleep 0.05
done
cat "$pidf"
`)
	return b.String()
}

// statusScript prints node n's pid when it runs, nothing when it does not.
func statusScript(r nodeFiles, unit string, n *Node) string {
	return fmt.Sprintf("bin=%s\n", shellQuote(r.binary())) + aliveFunc + fmt.Sprintf(`unit=%s
if [ -d /run/systemd/system ] && [ -f %s/"$unit" ]; then
	systemctl is-active --quiet "$unit" && systemctl show -p MainPID --value "$unit"
	exit 0
fi
alive %s || true
`, shellQuote(unit), unitDir, shellQuote(r.pidFile(n.Name)))
}

// destroyScript removes the nodes of units from the host, and everything under the remote
// root: it stops and removes the units, removes the agents' docker tasks, kills (SIGKILL, until
// none is left) every process running the cluster's binary, with the remote root on its
// command line or as its working directory, or in a task's process group; then it removes the
// tasks' cgroups and the remote root (and its parent when that was the default and is empty).
// A remote root without the cluster's marker file is left alone.
// The node processes get no graceful stop: everything they hold is being removed.
func destroyScript(r nodeFiles, name string, units []string, rmParent bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "root=%s\nname=%s\nunits=%s\nrmparent=%t\n", shellQuote(r.root), shellQuote(name), shellQuote(strings.Join(units, " ")), rmParent)
	b.WriteString(`cd /
if [ -d /run/systemd/system ]; then
	reload=
	for u in $units; do
		[ -f ` + unitDir + `/"$u" ] || continue
		systemctl disable "$u" >/dev/null 2>&1
		systemctl kill --kill-who=all -s KILL "$u" >/dev/null 2>&1
		systemctl stop "$u" >/dev/null 2>&1
		rm -f ` + unitDir + `/"$u"
		reload=1
	done
	if [ -n "$reload" ]; then
		systemctl daemon-reload
		systemctl reset-failed $units >/dev/null 2>&1
	fi
fi
[ -f "$root/` + markerFile + `" ] && [ "$(cat "$root/` + markerFile + `")" = "$name" ] || exit 0
if command -v docker >/dev/null 2>&1; then
	for f in $(find "$root" -name docker.json 2>/dev/null); do
		name=$(sed -n 's/.*"name": *"\([^"]*\)".*/\1/p' "$f")
		[ -n "$name" ] && docker rm -f -v "$name" >/dev/null 2>&1
	done
fi
groups=" "
for f in $(find "$root" -name task.pgid 2>/dev/null); do
	read -r pg start < "$f" || continue
	if [ -r "/proc/$pg/stat" ] && [ -n "$start" ]; then
		st=$(cat "/proc/$pg/stat" 2>/dev/null) || continue
		st=${st##*") "}
		set -- $st
		shift 19
		[ "$1" = "$start" ] || continue
	fi
	groups="$groups$pg "
done
self=$$
n=0
while :; do
	left=
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" = "$self" ] && continue
		st=$(cat "$d/stat" 2>/dev/null) || continue
		st=${st##*") "}
		set -- $st
		[ "$1" = Z ] && continue
		hit=
		case "$groups" in *" $3 "*) hit=1 ;; esac
		case "$(readlink "$d/cwd" 2>/dev/null)" in "$root" | "$root"/*) hit=1 ;; esac
		if [ -z "$hit" ] && tr '\0' '\n' < "$d/cmdline" 2>/dev/null | grep -qF -- "$root/"; then hit=1; fi
		if [ -n "$hit" ]; then
			kill -KILL "$p" 2>/dev/null && left="$left $p"
		fi
	done
	[ -z "$left" ] && break
	n=$((n+1))
	if [ "$n" -gt 200 ]; then echo "processes of the cluster survive SIGKILL:$left" >&2; exit 1; fi
	sleep 0.05
done
for f in $(find "$root" -name cgroup.json 2>/dev/null); do
	for g in $(grep -o '"/sys/fs/cgroup/[^"]*"' "$f" | tr -d '"'); do
		rmdir "$g" 2>/dev/null || true
	done
done
rm -rf "$root"
if [ "$rmparent" = true ]; then rmdir "${root%/*}" 2>/dev/null || true; fi
exit 0
`)
	return b.String()
}
