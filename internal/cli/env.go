package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/marina-dcos/marina/internal/client/marathon"
	"github.com/marina-dcos/marina/internal/client/sandbox"
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
	hc := &http.Client{Transport: tr}
	sandbox.KeepToken(hc, token)
	return hc
}

// rawClient returns the client and the buffer that receives its answers' bodies, for --json.
func (e *Env) rawClient() (*marathon.Client, *json.RawMessage) {
	raw := new(json.RawMessage)
	return e.Client.WithResponseBody(raw), raw
}

// getJSON GETs url from a master or agent with the token and decodes the JSON answer; an
// answer other than 200 is a *sandbox.StatusError.
func (e *Env) getJSON(ctx context.Context, u string, out any) error {
	return sandbox.GetJSON(ctx, e.HTTP, u, e.Target.Token, maxNodeAnswer, out)
}

// maxNodeAnswer bounds an answer from a master or agent: /master/state of a big cluster, or a
// page of a sandbox file (1 MiB, JSON-escaped).
const maxNodeAnswer = 64 << 20

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
