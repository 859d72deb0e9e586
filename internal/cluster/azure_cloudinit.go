package cluster

import (
	"cmp"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/marina-dcos/marina/internal/cloudinit"
)

// azureInstallScript downloads the marina binary from the URL in azureURLFile, checks its
// SHA-256 when one is given, installs it and deletes the URL file. With a managed identity
// (binary-blob), it asks the instance metadata service for a storage token and sends it. curl is
// silent but for errors, which never carry a URL's query (a SAS token), and the script does not
// trace.
const azureInstallScript = `#!/bin/sh
# Installs the marina binary from the URL in %[1]s; the URL is never printed.
set -eu
url=$(cat %[1]s)
identity=%[6]q
set --
if [ -n "$identity" ]; then
	token=$(curl --fail --silent --show-error --retry 10 --retry-all-errors -H Metadata:true --get \
		--data-urlencode "msi_res_id=$identity" --data-urlencode "resource=https://storage.azure.com/" \
		--data-urlencode "api-version=2018-02-01" http://169.254.169.254/metadata/identity/oauth2/token |
		sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p')
	if [ -z "$token" ]; then
		echo "install-marina: no storage token for the managed identity" >&2
		exit 1
	fi
	set -- -H "Authorization: Bearer $token" -H "x-ms-version: 2021-08-06"
fi
mkdir -p "$(dirname %[2]s)"
tmp=$(mktemp %[2]s.XXXXXX)
trap 'rm -f "$tmp"' EXIT
n=0
until curl --fail --silent --show-error --location --retry 5 --retry-all-errors "$@" -o "$tmp" "$url"; do
	n=$((n + 1))
	if [ "$n" -ge 10 ]; then
		echo "install-marina: download failed" >&2
		exit 1
	fi
	sleep 10
done
sha=%[3]q
if [ -n "$sha" ] && ! echo "$sha  $tmp" | sha256sum -c --status; then
	echo "install-marina: the binary's SHA-256 is not $sha" >&2
	exit 1
fi
chmod 0755 "$tmp"
mv "$tmp" %[2]s
trap - EXIT
rm -f %[1]s
mkdir -p %[4]s %[5]s
`

// userData is node n's cloud-init: the binary's URL (root only), the node's credentials, the
// installer and the systemd unit (the ssh provider's: nodes are laid out as it lays out a
// host), then install, enable and start.
func (a *Azure) userData(c *Cluster, n *Node) ([]byte, error) {
	if c.Credentials == nil {
		return nil, errNoCredentials
	}
	r := azureRemote(c)
	cfg := cloudinit.Config{
		Packages: []string{"curl", "ca-certificates"},
		Files: []cloudinit.File{
			{Path: azureURLFile, Mode: 0o600, Content: []byte(cmp.Or(a.s.binaryBlob, a.s.binaryURL) + "\n")},
			{Path: azureInstaller, Mode: 0o700, Content: fmt.Appendf(nil, azureInstallScript,
				azureURLFile, c.Binary, a.s.binarySHA256, path.Dir(n.LogFile), n.WorkDir, a.identityFor())},
			{Path: "/etc/systemd/system/" + unitName(c, n), Mode: 0o644, Content: []byte(unitFile(c, n, r))},
		},
		Commands: [][]string{
			{azureInstaller},
			{"systemctl", "daemon-reload"},
			{"systemctl", "enable", "--now", unitName(c, n)},
		},
	}
	dir := c.Credentials.NodeDir(n.Name)
	for _, f := range []string{NodeTokenFile, NodeCAFile, NodeCertFile, NodeKeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("azure: credentials of %s: %w", n.Name, err)
		}
		mode := os.FileMode(0o600)
		if f == NodeCAFile || f == NodeCertFile {
			mode = 0o644
		}
		cfg.Files = append(cfg.Files, cloudinit.File{Path: path.Join(r.credentials(n.Name), f), Mode: mode, Content: b})
	}
	return cfg.Render()
}

// identityFor is the identity the installer reads binary-blob with; "" for binary-url.
func (a *Azure) identityFor() string {
	if a.s.binaryBlob == "" {
		return ""
	}
	return a.s.identity
}
