package cli

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/marina-dcos/marina/internal/cluster"
	"github.com/marina-dcos/marina/internal/pki"
)

// EnvToken names the environment variable that overrides the API token.
const EnvToken = "MARINA_TOKEN"

// Target is where the API commands send their requests.
type Target struct {
	Cluster  string   // the cluster's name in the client config; "" when flags gave the URLs
	Services []string // services instances, the one the config names first
	Masters  []string // masters, for task logs
	Token    string
	// CAFile is the CA that https endpoints must be signed by: --ca-file, else the cluster's
	// ca_file in the client config; "" trusts the system's roots.
	CAFile string
}

// Discover finds the target: --services and --master win; else the cluster --cluster names, or
// the current cluster of the client config, fills what flags left out. With URL flags and no
// --cluster the client config is not read at all, so that a cluster's masters are never mixed
// with another's services.
func Discover(o *Options) (Target, error) {
	t := Target{Services: splitURLs(o.Services), Masters: splitURLs(o.Masters)}
	if o.Cluster != "" || (len(t.Services) == 0 && len(t.Masters) == 0) {
		if err := fromClientConfig(o, &t); err != nil {
			return Target{}, err
		}
	}
	if tok, ok := os.LookupEnv(EnvToken); ok {
		t.Token = strings.TrimSpace(tok)
	}
	if o.CAFile != "" {
		t.CAFile = o.CAFile
	}
	return t, nil
}

// TLSConfig returns the client TLS configuration that trusts the target's CA, or nil (the
// system's roots) when it names none.
func (t Target) TLSConfig() (*tls.Config, error) {
	if t.CAFile == "" {
		return nil, nil
	}
	cfg, err := pki.ClientConfig(t.CAFile)
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	return cfg, nil
}

// fromClientConfig fills the target's empty fields from the client config.
func fromClientConfig(o *Options, t *Target) error {
	stateDir := o.StateDir
	if stateDir == "" {
		stateDir = cluster.DefaultStateDir()
	}
	cfg, err := cluster.ReadClientConfig(stateDir)
	if err != nil {
		return fmt.Errorf("read the client config: %w", err)
	}
	name := o.Cluster
	if name == "" {
		name = cfg.Current
	}
	if name == "" {
		if len(t.Services) == 0 {
			return fmt.Errorf("no cluster to talk to: no current cluster in %s (run marina up, or pass --services URL)",
				filepath.Join(stateDir, "config.json"))
		}
		return nil
	}
	cc, ok := cfg.Clusters[name]
	if !ok {
		return fmt.Errorf("no cluster %q in %s (known: %s)", name, filepath.Join(stateDir, "config.json"), knownClusters(cfg))
	}
	t.Cluster = name
	masters := cc.Masters
	if len(masters) == 0 && cc.Master != "" {
		masters = []string{cc.Master}
	}
	if len(t.Masters) == 0 {
		t.Masters = masters
	}
	if len(t.Services) == 0 {
		t.Services = servicesURLs(cc.Services, masters)
	}
	if len(t.Services) == 0 {
		return fmt.Errorf("cluster %q has no services endpoint in the client config (pass --services URL)", name)
	}
	tok, err := clusterToken(stateDir, name, cc.StateFile)
	if err != nil {
		return err
	}
	t.Token = tok
	t.CAFile = cc.CAFile
	return nil
}

func knownClusters(cfg *cluster.ClientConfig) string {
	names := make([]string, 0, len(cfg.Clusters))
	for n := range cfg.Clusters {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// servicesURLs returns the services URL the config names, then the same port on every other
// master's host: every master node runs a services instance, and any of them serves the API.
func servicesURLs(services string, masters []string) []string {
	if services == "" {
		return nil
	}
	out := []string{strings.TrimRight(services, "/")}
	su, err := url.Parse(services)
	if err != nil || su.Port() == "" {
		return out
	}
	for _, m := range masters {
		mu, err := url.Parse(m)
		if err != nil || mu.Hostname() == "" {
			continue
		}
		u := (&url.URL{Scheme: su.Scheme, Host: net.JoinHostPort(mu.Hostname(), su.Port())}).String()
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// clusterToken returns the cluster's API token: the "token" or "token_file" of its entry in the
// client config, else a "token" file beside its state file; "" when there is none.
func clusterToken(stateDir, name, stateFile string) (string, error) {
	var raw struct {
		Clusters map[string]struct {
			Token     string `json:"token"`
			TokenFile string `json:"token_file"`
		} `json:"clusters"`
	}
	b, err := os.ReadFile(filepath.Join(stateDir, "config.json"))
	if err == nil {
		_ = json.Unmarshal(b, &raw) // ReadClientConfig already parsed it
	}
	entry := raw.Clusters[name]
	if entry.Token != "" {
		return entry.Token, nil
	}
	file := entry.TokenFile
	explicit := file != ""
	if !explicit {
		dir := cluster.ClusterDir(stateDir, name)
		if stateFile != "" {
			dir = filepath.Dir(stateFile)
		}
		file = filepath.Join(dir, "token")
	}
	b, err = os.ReadFile(file)
	switch {
	case err == nil:
		return strings.TrimSpace(string(b)), nil
	case errors.Is(err, os.ErrNotExist) && !explicit:
		return "", nil
	}
	return "", fmt.Errorf("cluster %q: read its token: %w", name, err)
}

// splitURLs flattens repeated and comma-separated URL flags, dropping trailing slashes.
func splitURLs(in []string) []string {
	var out []string
	for _, s := range in {
		for u := range strings.SplitSeq(s, ",") {
			if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
				out = append(out, u)
			}
		}
	}
	return out
}
