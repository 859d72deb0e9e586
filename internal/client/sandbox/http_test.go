package sandbox

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/marina-dcos/marina/internal/testutil"
)

// A standby that redirects to the leader, a leader that wants the token, and answers of each
// kind: GetJSON follows the redirect with the token and tells the answers apart.
func TestGetJSON(t *testing.T) {
	const token = "s3cret"
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(masterJSON))
	}))
	defer leader.Close()
	// The standby names the leader by another host name, to which Go's client would not
	// forward the token by itself.
	leaderURL := strings.Replace(leader.URL, "127.0.0.1", "localhost", 1) + "/master/state"
	mux := http.NewServeMux()
	mux.HandleFunc("/master/state", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, leaderURL, http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`"` + strings.Repeat("x", 100) + `"`))
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"pid":`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hc := srv.Client()
	KeepToken(hc, token)
	ctx := testutil.Context(t)

	var st MasterState
	if err := GetJSON(ctx, hc, srv.URL+"/master/state", token, 1<<20, &st); err != nil {
		t.Fatalf("through the standby: %v", err)
	}
	if p, ok := st.Locate("web.1"); !ok || p.Agent != "a1" {
		t.Fatalf("Locate(web.1) after the redirect = %+v, %v", p, ok)
	}
	for _, tc := range []struct {
		url, token string
		status     int // of the *StatusError wanted; 0: another error
	}{
		{leader.URL, "", http.StatusUnauthorized},
		{srv.URL + "/nope", token, http.StatusNotFound},
		{srv.URL + "/big", token, 0},
		{srv.URL + "/broken", token, 0},
	} {
		var out any
		err := GetJSON(ctx, hc, tc.url, tc.token, 50, &out)
		var se *StatusError
		switch {
		case err == nil:
			t.Errorf("GET %s: no error, answer %v", tc.url, out)
		case errors.As(err, &se) != (tc.status != 0) || se != nil && se.Status != tc.status:
			t.Errorf("GET %s: %v, want a status error %d", tc.url, err, tc.status)
		}
	}
}
