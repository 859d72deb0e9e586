package master

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The agent proxy lets a browser, or any client that reaches the leading master, read task
// sandboxes without reaching the agents or knowing their credentials:
//
//	GET /agent/{agent-id}/state                          the agent's /state (sandbox directories)
//	GET /agent/{agent-id}/files/browse?path=P            the agent's /files/browse
//	GET /agent/{agent-id}/files/read?path=P&offset=&length=  the agent's /files/read
//
// The master sends each call to the address the agent registered with, never to one named by
// the caller, rebuilds the query from the parameters it checked, forwards none of the caller's
// headers and adds the cluster's bearer token when it has one. Answers are passed through with
// their status, bounded in size.

const (
	// maxProxyAnswer bounds an agent answer the master relays; a /files/read page of up to
	// maxProxyRead bytes fits even when every byte is escaped in JSON.
	maxProxyAnswer = 8 << 20
	// maxProxyRead bounds the length of one proxied /files/read, the agent's own bound.
	maxProxyRead = 1 << 20
	// maxProxyPath bounds a sandbox path.
	maxProxyPath = 4096
	// proxyTimeout bounds one proxied call.
	proxyTimeout = 10 * time.Second
)

// agentProxy returns the handler of /agent/{id}/{call...}.
func (m *Master) agentProxy() handlerFunc {
	client := m.agentClient()
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		if err := requireGet(r); err != nil {
			return nil, err
		}
		call, query, err := proxyCall(r.PathValue("call"), r.URL.Query())
		if err != nil {
			return nil, err
		}
		base, err := m.agentURL(r, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		target := base + "/" + call
		if len(query) > 0 {
			target += "?" + query.Encode()
		}
		return m.relay(r.Context(), client, target)
	}
}

// agentClient returns the proxy's HTTP client, whose idle connections close when the master
// does. It follows no redirect: an agent never answers one, and following it would send the
// cluster's token elsewhere.
func (m *Master) agentClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = agentTLS(m.cfg.TLSConfig)
	tr.MaxIdleConnsPerHost = 4
	tr.IdleConnTimeout = 30 * time.Second
	context.AfterFunc(m.ctx, tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       proxyTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// agentTLS returns the client side of the master's TLS: when the master serves TLS, agents
// serve it too, with certificates of the cluster CA that signs the nodes' client certificates.
func agentTLS(server *tls.Config) *tls.Config {
	if server == nil {
		return nil
	}
	roots := server.RootCAs
	if roots == nil {
		roots = server.ClientCAs
	}
	return &tls.Config{RootCAs: roots, Certificates: server.Certificates, MinVersion: tls.VersionTLS12}
}

// proxyCall checks a proxied call and its parameters and returns the agent path and the query
// to send it: only the parameters the call takes, checked.
func proxyCall(call string, in url.Values) (string, url.Values, error) {
	switch call {
	case "state", "state.json":
		return "state", nil, nil
	case "files/browse", "files/browse.json":
		p, err := sandboxParam(in.Get("path"))
		if err != nil {
			return "", nil, err
		}
		return "files/browse", url.Values{"path": {p}}, nil
	case "files/read", "files/read.json":
		p, err := sandboxParam(in.Get("path"))
		if err != nil {
			return "", nil, err
		}
		out := url.Values{"path": {p}}
		offset, err := intQuery(in, "offset", -1, -1, 1<<62)
		if err != nil {
			return "", nil, err
		}
		length, err := intQuery(in, "length", maxProxyRead, 0, 1<<62)
		if err != nil {
			return "", nil, err
		}
		out.Set("offset", strconv.FormatInt(offset, 10))
		out.Set("length", strconv.FormatInt(min(length, maxProxyRead), 10))
		return "files/read", out, nil
	}
	return "", nil, errorf(http.StatusNotFound, "no such agent endpoint %q: expecting state, files/browse or files/read", call)
}

// sandboxParam checks a sandbox path: the agent confines it to its sandboxes, and the master
// refuses what could only be an attempt to leave them.
func sandboxParam(p string) (string, error) {
	switch {
	case p == "":
		return "", errorf(http.StatusBadRequest, "path is required")
	case len(p) > maxProxyPath:
		return "", errorf(http.StatusBadRequest, "path longer than %d bytes", maxProxyPath)
	case strings.ContainsAny(p, "\x00\\"):
		return "", errorf(http.StatusBadRequest, "path contains a forbidden character")
	case slices.Contains(strings.Split(p, "/"), ".."):
		return "", errorf(http.StatusBadRequest, "path must not contain ..")
	}
	return p, nil
}

// intQuery parses the integer parameter name of q, def when absent, within [lo, hi].
func intQuery(q url.Values, name string, def, lo, hi int64) (int64, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, errorf(http.StatusBadRequest, "bad %s %q: expecting an integer from %d", name, s, lo)
	}
	return v, nil
}

// agentURL returns the base URL of a registered agent; a standby answers with the leader.
func (m *Master) agentURL(r *http.Request, id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st == nil {
		return "", m.notLeader(r)
	}
	a, ok := m.st.agents[id]
	if !ok {
		return "", errorf(http.StatusNotFound, "no agent %q is registered", id)
	}
	base, ok := m.agentBase(a)
	if !ok {
		return "", errorf(http.StatusBadGateway, "agent %s has no usable address (pid %q)", id, a.pid)
	}
	return base, nil
}

// agentBase returns the base URL of the address an agent registered with.
func (m *Master) agentBase(a *agent) (string, bool) {
	host, port := pidAddr(a.pid)
	if host == "" || port == 0 {
		return "", false
	}
	return m.scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)), true
}

// relay GETs target with the cluster's credentials and returns the agent's answer: its status
// and (JSON or text) body, at most maxProxyAnswer bytes.
func (m *Master) relay(ctx context.Context, client *http.Client, target string) (any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("agent proxy: %w", err)
	}
	if m.cfg.AuthToken != "" {
		req.Header.Set("Authorization", "Bearer "+m.cfg.AuthToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, errorf(http.StatusGatewayTimeout, "request cancelled")
		}
		m.log.Warn("agent proxy", "url", target, "err", err)
		return nil, errorf(http.StatusBadGateway, "agent unreachable: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProxyAnswer+1))
	if err != nil {
		return nil, errorf(http.StatusBadGateway, "read the agent's answer: %v", err)
	}
	if len(body) > maxProxyAnswer {
		return nil, errorf(http.StatusBadGateway, "the agent's answer exceeds %d bytes", maxProxyAnswer)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, errorf(http.StatusBadGateway, "the agent answered with a redirect (%s)", resp.Status)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		m.log.Warn("agent proxy: the agent refused the master's credentials", "url", target, "status", resp.StatusCode)
		return nil, errorf(http.StatusBadGateway, "the agent refused the master's credentials")
	}
	hdr := http.Header{"Cache-Control": {"no-store"}}
	if ct := resp.Header.Get("Content-Type"); ct == "application/json" || strings.HasPrefix(ct, "text/plain") {
		hdr.Set("Content-Type", ct)
	} else {
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
	}
	hdr.Set("X-Content-Type-Options", "nosniff")
	return &response{status: resp.StatusCode, header: hdr, body: body}, nil
}
