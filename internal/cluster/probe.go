package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// probeTimeout bounds one HTTP probe of a node.
const probeTimeout = time.Second

// httpClient probes nodes: short timeouts, redirects not followed (a standby's 307 names the
// leader).
var httpClient = &http.Client{
	Timeout: probeTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
}

// TokenFile names a cluster's API token file in its state directory (<state>/<name>/token), for
// clusters that have one: the nodes read it (--auth-token-file), the probes and the CLI send it.
const TokenFile = "token"

// probeAuth is what the probes of a cluster with credentials send and trust.
type probeAuth struct {
	token  string
	client *http.Client // trusts the cluster CA; nil: httpClient
}

type authKey struct{}

// withAuth returns ctx carrying what the probes of cluster c need beyond loopback: its API
// token, when it has one, and a client that trusts its CA, when its nodes serve TLS. The probes
// take them from the context because the wait and status code paths that call them are shared
// by every provider, with and without credentials.
func withAuth(ctx context.Context, c *Cluster) context.Context {
	var a probeAuth
	if b, err := os.ReadFile(filepath.Join(c.Dir, TokenFile)); err == nil {
		a.token = strings.TrimSpace(string(b))
	}
	if c.Credentials != nil && c.Credentials.CAFile != "" {
		if cfg, err := c.Credentials.ClientTLS(); err == nil {
			a.client = &http.Client{
				Timeout:       probeTimeout,
				CheckRedirect: httpClient.CheckRedirect,
				Transport:     &http.Transport{DisableKeepAlives: true, TLSClientConfig: cfg},
			}
		}
	}
	if a == (probeAuth{}) {
		return ctx
	}
	return context.WithValue(ctx, authKey{}, a)
}

func httpGet(ctx context.Context, url string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	client := httpClient
	if a, ok := ctx.Value(authKey{}).(probeAuth); ok {
		if a.token != "" {
			req.Header.Set("Authorization", "Bearer "+a.token)
		}
		if a.client != nil {
			client = a.client
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error { defer b.cancel(); return b.ReadCloser.Close() }

// checkHealth GETs <base>/health and wants a 200.
func checkHealth(ctx context.Context, base string) error {
	resp, err := httpGet(ctx, base+"/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /health: %s", resp.Status)
	}
	return nil
}

// getJSON GETs url and decodes a 200's JSON body into v.
func getJSON(ctx context.Context, url string, v any) error {
	resp, err := httpGet(ctx, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// masterView is what one master says about leadership.
type masterView struct {
	Elected bool   // /metrics/snapshot master/elected is 1: this master leads
	Leader  string // the leader's URL per /master/redirect; "" when it knows none
	Err     error  // the master did not answer
}

func viewMaster(ctx context.Context, url string) masterView {
	var snap map[string]float64
	if err := getJSON(ctx, url+"/metrics/snapshot", &snap); err != nil {
		return masterView{Err: err}
	}
	v := masterView{Elected: snap["master/elected"] == 1}
	resp, err := httpGet(ctx, url+"/master/redirect")
	if err != nil {
		return masterView{Err: err}
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusTemporaryRedirect {
		loc := resp.Header.Get("Location")
		if strings.HasPrefix(loc, "//") {
			scheme, _, _ := strings.Cut(url, "://")
			loc = scheme + ":" + loc
		}
		v.Leader = strings.TrimRight(loc, "/")
	}
	return v
}

// viewMasters asks every master at once.
func viewMasters(ctx context.Context, masters []*Node) []masterView {
	out := make([]masterView, len(masters))
	var wg sync.WaitGroup
	for i, m := range masters {
		wg.Go(func() { out[i] = viewMaster(ctx, m.URL) })
	}
	wg.Wait()
	return out
}

// errNoLeader is returned while no single master leads.
var errNoLeader = errors.New("no master leads")

// leaderOf returns the index of the leading master: the one master that says it is elected and
// that every master answering points to. It is -1 with an error saying what is missing.
func leaderOf(masters []*Node, views []masterView) (int, error) {
	leader := -1
	for i, v := range views {
		if v.Err == nil && v.Elected {
			if leader >= 0 {
				return -1, fmt.Errorf("%w alone yet: %s and %s both say they are elected", errNoLeader, masters[leader].Name, masters[i].Name)
			}
			leader = i
		}
	}
	if leader < 0 {
		return -1, errNoLeader
	}
	for i, v := range views {
		if v.Err == nil && v.Leader != masters[leader].URL {
			return leader, fmt.Errorf("%s does not know the leader %s yet (it says %q)", masters[i].Name, masters[leader].Name, v.Leader)
		}
	}
	return leader, nil
}

// masterState is the part of a leader's /master/state that up and status read.
type masterState struct {
	Leader string      `json:"leader"`
	Slaves []agentInfo `json:"slaves"`
}

type agentInfo struct {
	ID            string         `json:"id"`
	PID           string         `json:"pid"`
	Hostname      string         `json:"hostname"`
	Active        bool           `json:"active"`
	Resources     map[string]any `json:"resources"`
	UsedResources map[string]any `json:"used_resources"`
}

// agentFor returns the state's entry for the agent at ip (matched by hostname or by the host of
// its pid, "slave(1)@ip:port"), or nil.
func (s *masterState) agentFor(ip string) *agentInfo {
	for i := range s.Slaves {
		a := &s.Slaves[i]
		_, host, _ := strings.Cut(a.PID, "@")
		if a.Hostname == ip || strings.HasPrefix(host, ip+":") {
			return a
		}
	}
	return nil
}

// servicesURLFor returns the services URL on the host of master m's URL (the address clients
// reach it at: a cloud VM's public IP, say), with the scheme of m's URL.
func servicesURLFor(m *Node) string {
	host := m.IP
	if u, err := url.Parse(m.URL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	if strings.HasPrefix(m.URL, "https://") {
		return httpsURL(servicesURL(host))
	}
	return servicesURL(host)
}
