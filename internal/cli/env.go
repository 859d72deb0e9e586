package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/cluster"
)

// Options are the flags every API command takes.
type Options struct {
	Services []string // --services
	Masters  []string // --master
	Cluster  string   // --cluster
	StateDir string   // --state-dir
	CAFile   string   // --ca-file
	JSON     bool     // --json
}

// AddFlags registers the options on fs (a command group's persistent flags).
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.Services, "services", nil, "services (Marathon API) URL, e.g. http://127.0.0.1:8080; repeat or comma-separate for several instances")
	fs.StringSliceVar(&o.Masters, "master", nil, "master URL, e.g. http://127.0.0.1:5050 (task logs); repeat or comma-separate")
	fs.StringVar(&o.Cluster, "cluster", "", "cluster name in the client config (default: the current cluster)")
	fs.StringVar(&o.StateDir, "state-dir", cluster.DefaultStateDir(), "directory of the client config (env "+cluster.EnvStateDir+")")
	fs.StringVar(&o.CAFile, "ca-file", "", "CA certificate (PEM) that https endpoints must be signed by (default: the cluster's ca_file in the client config)")
	fs.BoolVar(&o.JSON, "json", false, "print the API's JSON answer instead of a table")
}

// Env is what a command runs with: where to write, and the clients of the cluster.
type Env struct {
	In       io.Reader
	Out, Err io.Writer
	JSON     bool
	Target   Target
	Client   *marathon.Client
	// HTTP talks to masters and agents (task logs).
	HTTP *http.Client
	// LogPoll is how often task logs -f polls the sandbox; WaitPoll how often --wait polls
	// /v2/deployments besides the event stream.
	LogPoll, WaitPoll time.Duration
}

// Env discovers the cluster and returns an Env writing to out and errw.
func (o *Options) Env(in io.Reader, out, errw io.Writer) (*Env, error) {
	t, err := Discover(o)
	if err != nil {
		return nil, err
	}
	tlsConfig, err := t.TLSConfig()
	if err != nil {
		return nil, err
	}
	hc := newHTTPClient(t.Token, tlsConfig)
	c, err := marathon.New(marathon.Config{URLs: t.Services, Token: t.Token, HTTPClient: hc})
	if err != nil {
		return nil, UsageError(err)
	}
	return &Env{
		In: in, Out: out, Err: errw, JSON: o.JSON, Target: t, Client: c, HTTP: hc,
		LogPoll: 500 * time.Millisecond, WaitPoll: marathon.DefaultPollInterval,
	}, nil
}

// newHTTPClient returns a client without an overall timeout (event streams and followed logs
// are long) that verifies https servers with tlsConfig and keeps the token across a redirect
// to the leading master unless it would go from https to http.
func newHTTPClient(token string, tlsConfig *tls.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConfig
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("stopped after %d redirects", len(via))
			}
			if token != "" && !(via[0].URL.Scheme == "https" && req.URL.Scheme != "https") {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		},
	}
}

// rawClient returns the client and the buffer that receives its answers' bodies, for --json.
func (e *Env) rawClient() (*marathon.Client, *json.RawMessage) {
	raw := new(json.RawMessage)
	return e.Client.WithResponseBody(raw), raw
}

// getJSON GETs url from a master or agent with the token and decodes the JSON answer.
func (e *Env) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if e.Target.Token != "" {
		req.Header.Set("Authorization", "Bearer "+e.Target.Token)
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxNodeAnswer+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxNodeAnswer {
		return fmt.Errorf("GET %s: answer larger than %d bytes", u, maxNodeAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		return &nodeError{url: u, status: resp.StatusCode, body: clip(string(body), 300)}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// maxNodeAnswer bounds an answer from a master or agent: /master/state of a big cluster, or a
// page of a sandbox file (1 MiB, JSON-escaped).
const maxNodeAnswer = 64 << 20

// nodeError is an answer other than 200 from a master or agent.
type nodeError struct {
	url    string
	status int
	body   string
}

func (e *nodeError) Error() string {
	return fmt.Sprintf("GET %s: %d %s: %s", e.url, e.status, http.StatusText(e.status), e.body)
}

// readInput reads a definition file, "-" for standard input.
func (e *Env) readInput(name string) ([]byte, error) {
	if name == "" {
		return nil, usagef("a definition file is required: -f FILE (or -f - for standard input)")
	}
	if name == "-" {
		return io.ReadAll(io.LimitReader(e.In, 16<<20))
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
