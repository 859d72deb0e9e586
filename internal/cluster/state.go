package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// EnvStateDir overrides the default state directory.
const EnvStateDir = "MARINA_STATE_DIR"

// Files under the state directory.
const (
	clusterFile = "cluster.json" // <state>/<name>/cluster.json
	configFile  = "config.json"  // <state>/config.json, the client config
	locksDir    = "locks"        // <state>/locks/<name>.lock serialises up and down of a cluster
)

// DefaultStateDir returns $MARINA_STATE_DIR, or ~/.marina.
func DefaultStateDir() string {
	if d := os.Getenv(EnvStateDir); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".marina"
	}
	return filepath.Join(home, ".marina")
}

// Role is what a node runs.
type Role string

// The roles of nodes.
const (
	RoleMaster Role = "master"
	RoleAgent  Role = "agent"
)

// Node is one node of a cluster, as its provider made it.
type Node struct {
	Name string `json:"name"` // master-1, agent-2
	Role Role   `json:"role"`
	// Index counts from 1 within the role.
	Index int    `json:"index"`
	IP    string `json:"ip"`
	// URL is the node's API: the master's on :5050, the agent's on :5051.
	URL string `json:"url"`
	// Ports lists every TCP port the node listens on at IP.
	Ports   []int  `json:"ports"`
	WorkDir string `json:"work_dir"`
	LogFile string `json:"log_file"`
	// Args is the marina command line the node runs (without the program).
	Args []string `json:"args"`
	// PID and StartTime identify a local node's process across pid reuse.
	PID       int    `json:"pid,omitempty"`
	StartTime uint64 `json:"start_time,omitempty"`
	// Agent only: the resources and attributes the agent offers.
	Resources  string `json:"resources,omitempty"`
	Attributes string `json:"attributes,omitempty"`
	// PublicIP is the node's address outside its private network (a cloud VM's public IP),
	// when it has one: its certificate is valid for it too.
	PublicIP string `json:"public_ip,omitempty"`
}

// Endpoints are the cluster's entry points.
type Endpoints struct {
	// Master is the leading master's URL when up finished; any master redirects to the leader.
	Master  string   `json:"master"`
	Masters []string `json:"masters"`
	// Services is where the Marathon-compatible API will be served (the services role is not
	// part of a node yet).
	Services string `json:"services"`
}

// Cluster is the recorded state of a cluster: <state>/<name>/cluster.json.
type Cluster struct {
	Name      string    `json:"name"`
	Provider  string    `json:"provider"`
	Spec      Spec      `json:"spec"`
	Dir       string    `json:"dir"` // <state>/<name>
	Binary    string    `json:"binary"`
	Nodes     []*Node   `json:"nodes"`
	Endpoints Endpoints `json:"endpoints"`
	Created   time.Time `json:"created"`
	// Ready is set once up saw every node healthy.
	Ready bool `json:"ready"`
	// Credentials, set by GenerateCredentials, locate the cluster's token and CA.
	Credentials *Credentials `json:"credentials,omitempty"`
}

// Masters returns the master nodes.
func (c *Cluster) Masters() []*Node { return c.byRole(RoleMaster) }

// Agents returns the agent nodes.
func (c *Cluster) Agents() []*Node { return c.byRole(RoleAgent) }

func (c *Cluster) byRole(r Role) []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.Role == r {
			out = append(out, n)
		}
	}
	return out
}

// MasterURLs returns every master's URL.
func (c *Cluster) MasterURLs() []string {
	var out []string
	for _, n := range c.Masters() {
		out = append(out, n.URL)
	}
	return out
}

// setEndpoints sets the cluster's endpoints from its masters' URLs: every master's, the first
// one's, and the services API on the first master's host.
func (c *Cluster) setEndpoints() {
	c.Endpoints = Endpoints{Masters: c.MasterURLs()}
	if ms := c.Masters(); len(ms) > 0 {
		c.Endpoints.Master = ms[0].URL
		c.Endpoints.Services = servicesURLFor(ms[0])
	}
}

// Node returns the node named name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// ClusterDir returns the directory of cluster name under stateDir.
func ClusterDir(stateDir, name string) string { return filepath.Join(stateDir, name) }

// Save writes the cluster's state file (mode 0600) atomically.
func (c *Cluster) Save() error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(c.Dir, clusterFile), append(b, '\n'), 0o600)
}

// ErrNoCluster is returned when no cluster of the given name exists.
var ErrNoCluster = errors.New("no such cluster")

// LoadCluster reads cluster name's state from stateDir. A missing cluster is ErrNoCluster.
func LoadCluster(stateDir, name string) (*Cluster, error) {
	p := filepath.Join(ClusterDir(stateDir, name), clusterFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q (no %s)", ErrNoCluster, name, p)
	}
	if err != nil {
		return nil, err
	}
	var c Cluster
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &c, nil
}

// ClientConfig is <state>/config.json: the clusters this machine knows and the current one. The
// CLI's API commands read it to find the cluster they talk to.
type ClientConfig struct {
	Current  string                    `json:"current"`
	Clusters map[string]ClusterContext `json:"clusters"`
}

// ClusterContext is how a client reaches one cluster.
type ClusterContext struct {
	Provider  string   `json:"provider"`
	Masters   []string `json:"masters"`
	Master    string   `json:"master"`
	Services  string   `json:"services"`
	StateFile string   `json:"state_file"`
	TokenFile string   `json:"token_file,omitempty"` // the API token; else <state>/<name>/token
	CAFile    string   `json:"ca_file,omitempty"`    // the CA that signed the cluster's certificates
}

// updateClientConfig changes <stateDir>/config.json under an exclusive lock.
func updateClientConfig(stateDir string, change func(*ClientConfig)) error {
	unlock, err := lockFile(filepath.Join(stateDir, configFile+".lock"), true)
	if err != nil {
		return err
	}
	defer unlock()
	cfg, err := ReadClientConfig(stateDir)
	if err != nil {
		return err
	}
	change(cfg)
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(stateDir, configFile), append(b, '\n'), 0o600)
}

// ReadClientConfig reads <stateDir>/config.json; a missing file is an empty config.
func ReadClientConfig(stateDir string) (*ClientConfig, error) {
	cfg := &ClientConfig{Clusters: map[string]ClusterContext{}}
	b, err := os.ReadFile(filepath.Join(stateDir, configFile))
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, configFile), err)
	}
	if cfg.Clusters == nil {
		cfg.Clusters = map[string]ClusterContext{}
	}
	return cfg, nil
}

// addToClientConfig records c in the client config and makes it the current cluster.
func addToClientConfig(stateDir string, c *Cluster) error {
	return updateClientConfig(stateDir, func(cfg *ClientConfig) {
		cc := ClusterContext{
			Provider:  c.Provider,
			Masters:   c.Endpoints.Masters,
			Master:    c.Endpoints.Master,
			Services:  c.Endpoints.Services,
			StateFile: filepath.Join(c.Dir, clusterFile),
		}
		if c.Credentials != nil {
			c.Credentials.applyTo(&cc)
		}
		cfg.Clusters[c.Name] = cc
		cfg.Current = c.Name
	})
}

// removeFromClientConfig forgets cluster name; another cluster becomes current if name was.
func removeFromClientConfig(stateDir, name string) error {
	if _, err := os.Stat(filepath.Join(stateDir, configFile)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return updateClientConfig(stateDir, func(cfg *ClientConfig) {
		delete(cfg.Clusters, name)
		if cfg.Current == name {
			cfg.Current = ""
			names := make([]string, 0, len(cfg.Clusters))
			for n := range cfg.Clusters {
				names = append(names, n)
			}
			slices.Sort(names)
			if len(names) > 0 {
				cfg.Current = names[0]
			}
		}
	})
}

// ErrBusy is returned when another up or down of the same cluster is under way.
var ErrBusy = errors.New("another marina up or down of this cluster is under way")

// lockCluster takes the lock that serialises up and down of cluster name, or fails with ErrBusy.
func lockCluster(stateDir, name string) (func(), error) {
	unlock, err := lockFile(filepath.Join(stateDir, locksDir, name+".lock"), false)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, fmt.Errorf("cluster %q: %w", name, ErrBusy)
	}
	return unlock, err
}

// lockFile takes an exclusive flock on path (created with its directory), waiting for it when
// wait is set.
func lockFile(path string, wait bool) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, perm)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}
