package detect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Timeout bounds one detection. /master/redirect is a tiny answer served from memory: a master
// that has not answered within it is taken for dead, and the caller retries.
const Timeout = time.Second

// maxHearsay bounds the masters asked beyond the configured ones.
const maxHearsay = 4

// Leader returns the base URL ("scheme://host:port") of the master that confirms it leads. The
// token, when set, is sent as a bearer token. client must not follow redirects.
func Leader(ctx context.Context, client *http.Client, token string, masters []string) (string, error) {
	if len(masters) == 0 {
		return "", errors.New("no masters configured")
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel() // ends the probes still running

	type answer struct {
		asked, leader string
		err           error
	}
	limit := len(masters) + maxHearsay
	answers := make(chan answer, limit) // never blocks a probe
	asked := map[string]bool{}
	pending := 0
	ask := func(master string) {
		base, err := baseURL(master)
		if err != nil {
			answers <- answer{asked: master, err: err}
			pending++
			return
		}
		if asked[base] || len(asked) >= limit {
			return
		}
		asked[base] = true
		pending++
		go func() {
			leader, err := redirect(ctx, client, token, base)
			answers <- answer{asked: base, leader: leader, err: err}
		}()
	}
	for _, m := range masters {
		ask(m)
	}
	var errs []error
	for pending > 0 {
		select {
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
			pending = 0
		case a := <-answers:
			pending--
			switch {
			case a.err != nil:
				errs = append(errs, a.err)
			case a.leader == a.asked:
				return a.leader, nil
			default:
				ask(a.leader) // hearsay: the named master decides
			}
		}
	}
	return "", fmt.Errorf("no master confirmed it leads: %w", errors.Join(errs...))
}

// redirect asks master where the leader is.
func redirect(ctx context.Context, client *http.Client, token, master string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, master+"/master/redirect", nil)
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	switch resp.StatusCode {
	case http.StatusTemporaryRedirect, http.StatusFound, http.StatusPermanentRedirect, http.StatusSeeOther:
		return Resolve(master, resp.Header.Get("Location"))
	default:
		return "", fmt.Errorf("%s: %s", master, resp.Status)
	}
}

// baseURL returns "scheme://host" of a master's URL.
func baseURL(master string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(master))
	if err != nil {
		return "", fmt.Errorf("master %q: %w", master, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("master %q is not a URL with a scheme and a host", master)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Resolve turns a redirect Location ("//host:port", maybe with a path, or an absolute URL) into
// the leader's base URL, with base's scheme when Location has none.
func Resolve(base, location string) (string, error) {
	if location == "" {
		return "", errors.New("no Location")
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	l, err := url.Parse(location)
	if err != nil {
		return "", err
	}
	u := b.ResolveReference(l)
	if u.Host == "" {
		return "", fmt.Errorf("location %q names no host", location)
	}
	return u.Scheme + "://" + u.Host, nil
}
