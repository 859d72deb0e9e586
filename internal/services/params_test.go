package services

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// params is what the helpers that read a change's request found in it.
type params struct {
	force, partial, patch, scale bool
	body                         string // the body read, or the id of the group decoded
}

type paramsReader func(s *Server, r *http.Request) (params, error)

func changeParams(s *Server, r *http.Request) (params, error) {
	force, body, err := s.readChange(r)
	return params{force: force, body: string(body)}, err
}

func appParams(s *Server, r *http.Request) (params, error) {
	c, err := s.readAppRequest(r)
	return params{force: c.force, partial: c.partial, patch: c.patch, body: string(c.body)}, err
}

func groupParams(s *Server, r *http.Request) (params, error) {
	force, g, err := s.readGroup(r, "/")
	if err != nil {
		return params{}, err
	}
	return params{force: force, body: g.ID}, nil
}

func killParamsOf(_ *Server, r *http.Request) (params, error) {
	scale, force, err := killParams(r)
	return params{scale: scale, force: force}, err
}

// The query parameters and bodies that the calls changing apps, groups and tasks read through
// the helpers they share: defaults, values, and a 400 (413 for a large body) for what is not
// understood.
func TestChangeParams(t *testing.T) {
	s := &Server{cfg: Config{MaxBodyBytes: 32}}
	for _, tc := range []struct {
		name, method, query, body string
		read                      paramsReader
		want                      params
		status                    int // of the error; 0: none
	}{
		{"change: defaults", "POST", "", "{}", changeParams, params{body: "{}"}, 0},
		{"change: force", "POST", "force=true", "{}", changeParams, params{force: true, body: "{}"}, 0},
		{"change: bad force", "POST", "force=yes", "{}", changeParams, params{}, http.StatusBadRequest},
		{"change: body too large", "POST", "", strings.Repeat("x", 33), changeParams, params{}, http.StatusRequestEntityTooLarge},
		{"app PUT: defaults", "PUT", "", "{}", appParams, params{partial: true, body: "{}"}, 0},
		{"app PUT: replace", "PUT", "partialUpdate=false&force=1", "{}", appParams, params{force: true, body: "{}"}, 0},
		{"app PATCH", "PATCH", "", "{}", appParams, params{partial: true, patch: true, body: "{}"}, 0},
		{"app PUT: bad partialUpdate", "PUT", "partialUpdate=maybe", "{}", appParams, params{}, http.StatusBadRequest},
		{"app PUT: bad force", "PUT", "force=2", "{}", appParams, params{}, http.StatusBadRequest},
		{"group: force and id", "POST", "force=true", `{"id":"shop"}`, groupParams, params{force: true, body: "/shop"}, 0},
		{"group: bad force", "PUT", "force=no!", `{"id":"shop"}`, groupParams, params{}, http.StatusBadRequest},
		{"group: not JSON", "PUT", "", `{"id":`, groupParams, params{}, http.StatusBadRequest},
		{"kill: defaults", "DELETE", "", "", killParamsOf, params{}, 0},
		{"kill: scale and force", "DELETE", "scale=TRUE&force=true", "", killParamsOf, params{scale: true, force: true}, 0},
		{"kill: bad scale", "DELETE", "scale=x", "", killParamsOf, params{}, http.StatusBadRequest},
		{"kill: bad force", "DELETE", "force=x", "", killParamsOf, params{}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/v2/x?"+tc.query, strings.NewReader(tc.body))
			got, err := tc.read(s, r)
			if tc.status != 0 {
				if code, _ := errorResponse(err); err == nil || code != tc.status {
					t.Fatalf("err = %v, want status %d", err, tc.status)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
