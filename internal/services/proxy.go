package services

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Headers of the leader proxy.
const (
	headerLeader = "X-Marathon-Leader" // on every answer: the leading instance's URL
	headerVia    = "X-Marathon-Via"    // on proxied requests: every instance they went through
)

// proxy forwards REST calls a standby receives to the leader, events streams included.
type proxy struct {
	s  *Server
	rp *httputil.ReverseProxy
}

func newProxy(s *Server) *proxy {
	p := &proxy{s: s}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target, _ := pr.In.Context().Value(targetKey{}).(*url.URL)
			pr.SetURL(target)
			pr.Out.Host = target.Host
			pr.SetXForwarded()
			via := slices.Clone(pr.In.Header.Values(headerVia))
			pr.Out.Header.Del(headerVia)
			for _, v := range append(via, s.url) {
				pr.Out.Header.Add(headerVia, v)
			}
			if s.cfg.AuthToken != "" {
				// This instance authenticated the call (a browser's session is checked for its
				// origin here, whose host the leader does not see): vouch for it with the token.
				pr.Out.Header.Set("Authorization", "Bearer "+s.cfg.AuthToken)
				pr.Out.Header.Del("Cookie")
			}
		},
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			TLSClientConfig:       s.cfg.ClientTLS,
		},
		FlushInterval: -1, // event streams flow through at once
		ModifyResponse: func(resp *http.Response) error {
			// The leader names itself; this instance's common handler already set the header.
			resp.Header.Del(headerLeader)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.log.Warn("proxying to the leader failed", "path", r.URL.Path, "err", err)
			writeJSON(w, http.StatusBadGateway, msg("Could not reach the leader: %v", err))
		},
		ErrorLog: nil,
	}
	return p
}

type targetKey struct{}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := p.s
	if slices.ContainsFunc(r.Header.Values(headerVia), func(v string) bool { return strings.TrimRight(v, "/") == s.url }) {
		writeJSON(w, http.StatusLoopDetected, msg("Loop detected: the request already went through %s", s.url))
		return
	}
	leader := s.Leader()
	if leader == "" || leader == s.url {
		// No leader, or this instance was elected a moment ago and does not serve yet.
		writeJSON(w, http.StatusServiceUnavailable, msg("Could not determine the current leader"))
		return
	}
	target, err := url.Parse(leader)
	if err != nil || target.Host == "" {
		writeJSON(w, http.StatusBadGateway, msg("The leader's address %q is not a URL", leader))
		return
	}
	w.Header().Set(headerLeader, leader)
	ctx := r.Context()
	r = r.WithContext(contextWith(ctx, targetKey{}, target))
	p.rp.ServeHTTP(w, r)
}

// closeIdle closes the idle connections to the leader.
func (p *proxy) closeIdle() {
	if t, ok := p.rp.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
}
