package detect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		base, loc, want string
		err             bool
	}{
		{"http://10.0.0.1:5050", "//10.0.0.2:5050", "http://10.0.0.2:5050", false},
		{"https://m1:5050", "//m2:5050/api/v1/agent", "https://m2:5050", false},
		{"http://m1:5050", "http://m3:5050/master/redirect", "http://m3:5050", false},
		{"http://m1:5050", "", "", true},
		{"http://m1:5050", "/relative", "http://m1:5050", false},
	}
	for _, tt := range tests {
		got, err := Resolve(tt.base, tt.loc)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("Resolve(%q, %q) = %q, %v", tt.base, tt.loc, got, err)
		}
	}
}

// master is a fake master's /master/redirect: it names leader (a URL, or "self"), or answers
// 503 when leader is "", or never answers when hang is set.
type master struct {
	srv    *httptest.Server
	leader string
	hang   bool
}

func newMaster(t *testing.T) *master {
	m := &master{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/master/redirect" {
			http.NotFound(w, r)
			return
		}
		if m.hang {
			<-r.Context().Done()
			return
		}
		leader := m.leader
		if leader == "self" {
			leader = m.srv.URL
		}
		if leader == "" {
			http.Error(w, "no leader", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Location", "//"+strings.TrimPrefix(leader, "http://"))
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func TestLeader(t *testing.T) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name       string
		configured int // the masters the caller knows: the first ones
		// set up three masters; returns the index of the leader expected, or -1 for an error.
		setup func(ms []*master) int
	}{
		{"the leader names itself", 3, func(ms []*master) int {
			ms[0].leader, ms[1].leader, ms[2].leader = ms[1].srv.URL, "self", ms[1].srv.URL
			return 1
		}},
		{"a hanging master does not delay the answer", 3, func(ms []*master) int {
			ms[0].hang, ms[1].leader, ms[2].leader = true, ms[2].srv.URL, "self"
			return 2
		}},
		{"hearsay is asked in turn", 2, func(ms []*master) int {
			// The leader is not configured: only standbys name it.
			ms[0].leader, ms[1].leader = ms[2].srv.URL, ms[2].srv.URL
			ms[2].leader = "self"
			return 2
		}},
		{"standbys naming a dead leader are not followed", 3, func(ms []*master) int {
			ms[0].hang, ms[1].leader, ms[2].leader = true, ms[0].srv.URL, ms[0].srv.URL
			return -1
		}},
		{"no leader elected", 3, func(ms []*master) int { return -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := []*master{newMaster(t), newMaster(t), newMaster(t)}
			want := tt.setup(ms)
			var urls []string
			for _, m := range ms[:tt.configured] {
				urls = append(urls, m.srv.URL)
			}
			got, err := Leader(context.Background(), noRedirect, "", urls)
			switch {
			case want < 0 && err == nil:
				t.Fatalf("Leader = %q, want an error", got)
			case want >= 0 && (err != nil || got != ms[want].srv.URL):
				t.Fatalf("Leader = %q, %v; want %q", got, err, ms[want].srv.URL)
			}
		})
	}
}
