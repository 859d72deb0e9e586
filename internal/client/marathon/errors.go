package marathon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// Sentinels an *APIError matches with errors.Is, by status.
var (
	ErrNotFound     = errors.New("not found")                // 404
	ErrConflict     = errors.New("conflict")                 // 409: locked by a deployment, or exists
	ErrInvalid      = errors.New("invalid")                  // 400 and 422: the request was rejected
	ErrUnauthorized = errors.New("unauthorized")             // 401 and 403
	ErrUnavailable  = errors.New("service unavailable")      // 502, 503, 504: try again
	ErrNoLeader     = errors.New("no services leader known") // GET /v2/leader answered 404
)

// APIError is an answer with a status of 400 or more, with Marathon's error body when it had
// one: {"message": ..., "details": [{"path": ..., "errors": [...]}], "deployments": [...]}.
type APIError struct {
	Method string
	Path   string
	Status int
	// Message is the body's message, or the body itself when it is not Marathon's JSON.
	Message string
	// Details are the problems of a 400 or 422, every one with its JSON path.
	Details []api.ErrorDetail
	// Deployments are the deployments that lock an app (409).
	Deployments []api.DeploymentRef
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for i, d := range e.Details {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", d.Path, strings.Join(d.Errors, ", "))
	}
	return b.String()
}

// Is matches the sentinel of the error's status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrInvalid:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrUnavailable:
		return e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable ||
			e.Status == http.StatusGatewayTimeout
	}
	return false
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports whether err is a 409 answer.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsInvalid reports whether err is a 400 or 422 answer.
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// errorBody is Marathon's error JSON. Details are decoded loosely: older servers send
// {"path": ..., "errors": [...]}, some a bare "error" string.
type errorBody struct {
	Message     *string             `json:"message"`
	Details     []json.RawMessage   `json:"details"`
	Deployments []api.DeploymentRef `json:"deployments"`
}

// readAPIError reads an error answer into an *APIError.
func readAPIError(req request, resp *http.Response) error {
	e := &APIError{Method: req.method, Path: req.path, Status: resp.StatusCode}
	body, err := readLimited(resp.Body, maxErrorBytes)
	if err != nil && !errors.As(err, new(errTooLarge)) {
		e.Message = fmt.Sprintf("(reading the body: %v)", err)
		return e
	}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Message != nil {
		e.Message = *eb.Message
		e.Deployments = eb.Deployments
		for _, raw := range eb.Details {
			e.Details = append(e.Details, decodeDetail(raw))
		}
		return e
	}
	e.Message = clip(string(body), 500)
	return e
}

// decodeDetail reads {"path", "errors"}, or anything else as one error at "/".
func decodeDetail(raw json.RawMessage) api.ErrorDetail {
	var d api.ErrorDetail
	if json.Unmarshal(raw, &d) == nil && (d.Path != "" || len(d.Errors) > 0) {
		if d.Path == "" {
			d.Path = "/"
		}
		return d
	}
	var loose struct {
		Path  string `json:"path"`
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &loose) == nil && loose.Error != "" {
		return api.ErrorDetail{Path: cmpOr(loose.Path, "/"), Errors: []string{loose.Error}}
	}
	return api.ErrorDetail{Path: "/", Errors: []string{string(raw)}}
}

// clip returns s without surrounding space, cut to n bytes.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
