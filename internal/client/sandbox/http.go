package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// KeepToken makes hc send token again on each redirect (a standby master redirects to the
// leader), unless it goes from https to http, and stop after 5 redirects.
func KeepToken(hc *http.Client, token string) {
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		if token != "" && !(via[0].URL.Scheme == "https" && req.URL.Scheme != "https") {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}
}

// StatusError is an answer other than 200 from a master or an agent.
type StatusError struct {
	URL    string
	Status int
	Body   string // the start of the answer's body
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s: %s", e.URL, e.Status, http.StatusText(e.Status), e.Body)
}

// bodyShown is how much of an error answer's body a StatusError keeps.
const bodyShown = 300

// GetJSON GETs u from a master or an agent with hc, sending token (when set) as a bearer
// token, and decodes its JSON answer into out. An answer larger than limit bytes is an error;
// one other than 200 is a *StatusError.
func GetJSON(ctx context.Context, hc *http.Client, u, token string, limit int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if int64(len(body)) > limit {
		return fmt.Errorf("GET %s: answer larger than %d bytes", u, limit)
	}
	if resp.StatusCode != http.StatusOK {
		if len(body) > bodyShown {
			body = append(body[:bodyShown], "..."...)
		}
		return &StatusError{URL: u, Status: resp.StatusCode, Body: string(body)}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}
