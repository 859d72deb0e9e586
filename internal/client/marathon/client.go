package marathon

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Limits on what the client reads.
const (
	// DefaultMaxResponseBytes bounds a response body: /v2/apps?embed=apps.tasks for a few
	// thousand apps fits comfortably.
	DefaultMaxResponseBytes = 64 << 20
	// maxErrorBytes bounds the body of an error answer.
	maxErrorBytes = 64 << 10
)

// Config configures a Client.
type Config struct {
	// URLs are base URLs of services instances, e.g. http://127.0.0.1:8080. Any instance
	// serves the API; on a connection error the next one is tried.
	URLs []string
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// TLSConfig verifies https instances when HTTPClient is nil: set RootCAs to the cluster CA
	// (pki.ClientConfig). Nil trusts the system's roots.
	TLSConfig *tls.Config
	// HTTPClient is used for every request. It should have no overall Timeout, which would
	// cut the event stream; contexts bound the other requests. Default: a client with a 10s
	// dial timeout and a 30s wait for response headers.
	HTTPClient *http.Client
	// MaxResponseBytes bounds a response body; default DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// UserAgent is sent with every request; default "marina".
	UserAgent string
}

// Client talks to the Marathon API of a set of services instances. It is safe for concurrent
// use.
type Client struct {
	st *state
	// raw, when set, receives the body of each successful response (WithResponseBody).
	raw *json.RawMessage
}

// state is what copies of a Client made by WithResponseBody share.
type state struct {
	urls    []*url.URL
	token   string
	http    *http.Client
	maxBody int64
	agent   string
	// next is the index of the URL that answered last: requests start there.
	next atomic.Int32
}

// New returns a client of the given services instances. Nothing is sent until a call.
func New(cfg Config) (*Client, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("marathon client: no services URL")
	}
	st := &state{token: cfg.Token, http: cfg.HTTPClient, maxBody: cfg.MaxResponseBytes, agent: cfg.UserAgent}
	for _, raw := range cfg.URLs {
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("marathon client: bad services URL %q: want http(s)://host:port", raw)
		}
		st.urls = append(st.urls, u)
	}
	if st.http == nil {
		st.http = defaultHTTPClient(cfg.TLSConfig)
	}
	if st.maxBody <= 0 {
		st.maxBody = DefaultMaxResponseBytes
	}
	if st.agent == "" {
		st.agent = "marina"
	}
	return &Client{st: st}, nil
}

func defaultHTTPClient(tlsConfig *tls.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConfig
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: tr}
}

// URLs returns the services URLs the client uses.
func (c *Client) URLs() []string {
	out := make([]string, len(c.st.urls))
	for i, u := range c.st.urls {
		out[i] = u.String()
	}
	return out
}

// WithResponseBody returns a copy of c that also stores the body of each successful response in
// *dst, for callers that print the API's answer unchanged. The copy shares c's connections.
func (c *Client) WithResponseBody(dst *json.RawMessage) *Client {
	return &Client{st: c.st, raw: dst}
}

// request is one API call.
type request struct {
	method string
	path   string // already escaped, e.g. /v2/apps/web
	query  url.Values
	body   []byte // JSON; nil for none
	accept string // default application/json
}

// response is a successful answer, body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends req and reads its answer. A status of 400 or more is an *APIError. out, when not
// nil, receives the JSON body.
func (c *Client) call(ctx context.Context, req request, out any) (*response, error) {
	resp, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return nil, readAPIError(req, resp)
	}
	body, err := readLimited(resp.Body, c.st.maxBody)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
	if c.raw != nil {
		*c.raw = append((*c.raw)[:0], body...)
	}
	if out != nil && len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", req.method, req.path, err)
		}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// send sends req to the services instances in turn, starting with the one that answered last,
// until one answers. It fails over on connection errors only (see retryable).
func (c *Client) send(ctx context.Context, req request) (*http.Response, error) {
	n := len(c.st.urls)
	start := int(c.st.next.Load()) % n
	var errs []error
	for i := range n {
		idx := (start + i) % n
		resp, err := c.sendTo(ctx, c.st.urls[idx], req)
		if err == nil {
			c.st.next.Store(int32(idx))
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", req.method, req.path, ctx.Err())
		}
		errs = append(errs, err)
		if !retryable(req.method, err) {
			break
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("no services instance answered: %w", errors.Join(errs...))
}

func (c *Client) sendTo(ctx context.Context, base *url.URL, req request) (*http.Response, error) {
	u := *base
	u.Path = strings.TrimRight(base.Path, "/") + req.path
	u.RawPath = ""
	if strings.ContainsRune(req.path, '%') {
		u.RawPath = strings.TrimRight(base.EscapedPath(), "/") + req.path
	}
	u.RawQuery = req.query.Encode()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	accept := req.accept
	if accept == "" {
		accept = "application/json"
	}
	hr.Header.Set("Accept", accept)
	hr.Header.Set("User-Agent", c.st.agent)
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if c.st.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.st.token)
	}
	return c.st.http.Do(hr)
}

// retryable reports whether a request that failed with err may be sent to another instance: a
// GET after any transport error, anything else only if no connection was made, since the
// instance may have acted on a change whose answer was lost.
func retryable(method string, err error) bool {
	if method == http.MethodGet || method == http.MethodHead {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// errTooLarge is returned for a body over the limit.
type errTooLarge struct{ limit int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("response body larger than %d bytes", e.limit)
}

// readLimited reads r to its end, failing when it holds more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge{limit}
	}
	return b, nil
}

// appPath returns the escaped API path of an app: /v2/apps + the app id, "/a/b" or "a/b".
func appPath(id string, suffix ...string) string {
	var b strings.Builder
	b.WriteString("/v2/apps")
	for seg := range strings.SplitSeq(strings.Trim(id, "/"), "/") {
		b.WriteString("/" + url.PathEscape(seg))
	}
	for _, s := range suffix {
		b.WriteString("/" + url.PathEscape(s))
	}
	return b.String()
}

// forceQuery returns ?force=true when force is set.
func forceQuery(force bool) url.Values {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	return q
}
