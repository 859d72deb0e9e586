package scheduler

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/detect"
)

const (
	// subscribeTimeout bounds the wait for SUBSCRIBED.
	subscribeTimeout = 10 * time.Second
	// callTimeout bounds a call within a stream; the master answers each at once.
	callTimeout = 10 * time.Second
)

// Config configures a scheduler client.
type Config struct {
	Masters   []string // base URLs of any masters, e.g. http://127.0.0.1:5050
	Framework mesos.FrameworkInfo
	AuthToken string
	// TLSConfig verifies https masters (and presents a node's certificate) when HTTPClient is
	// nil; nil trusts the system's roots.
	TLSConfig  *tls.Config
	HTTPClient *http.Client // default: a client without timeout (streams are long-lived)
}

// Client subscribes a framework to the leading master.
type Client struct {
	cfg  Config
	http *http.Client

	mu sync.Mutex
	id string // framework id once subscribed; reused on re-subscription
}

// New returns a client. Nothing is sent until Subscribe.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if cfg.TLSConfig != nil {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = cfg.TLSConfig
			hc.Transport = tr
		}
	}
	return &Client{cfg: cfg, http: hc}
}

// FrameworkID returns the framework id the master assigned, or "" before the first subscription.
func (c *Client) FrameworkID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// SetFrameworkID makes the next Subscribe re-subscribe as an existing framework.
func (c *Client) SetFrameworkID(id string) {
	c.mu.Lock()
	c.id = id
	c.mu.Unlock()
}

// Stream is one subscription: its events, and calls made within it.
type Stream struct {
	Events <-chan mesos.Event

	c           *Client
	leader      string
	streamID    string
	frameworkID string
	body        io.Closer
	ctx         context.Context    // the stream's life
	cancel      context.CancelFunc // ends the stream and the calls made within it
	err         error
	errMu       sync.Mutex
	closing     chan struct{}
	closeOnce   sync.Once
	done        chan struct{}
}

// Leader returns the URL of the master the stream is connected to.
func (s *Stream) Leader() string { return s.leader }

// FrameworkID returns the framework id confirmed by SUBSCRIBED.
func (s *Stream) FrameworkID() string { return s.frameworkID }

// Err returns why the stream ended, once Events is closed.
func (s *Stream) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Close ends the stream. Events not yet read are dropped.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.cancel()
	err := s.body.Close()
	<-s.done
	return err
}

// Subscribe subscribes (or re-subscribes, when a framework id is known) and returns once SUBSCRIBED
// has arrived. The stream lives until ctx ends, Close, or the connection breaks.
func (c *Client) Subscribe(ctx context.Context) (*Stream, error) {
	info := c.cfg.Framework
	if id := c.FrameworkID(); id != "" {
		info.ID = &mesos.ID{Value: id}
	}
	call := mesos.Call{Type: mesos.CallSubscribe, Subscribe: &mesos.Subscribe{FrameworkInfo: info}}
	if info.ID != nil {
		call.FrameworkID = info.ID
	}
	body, err := json.Marshal(call)
	if err != nil {
		return nil, err
	}
	if len(c.cfg.Masters) == 0 {
		return nil, errors.New("scheduler: no masters configured")
	}
	leader, err := detect.Leader(ctx, c.http, c.cfg.AuthToken, c.cfg.Masters)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	// The stream lives in sctx; subscribeTimeout bounds the wait for SUBSCRIBED, so that a
	// leader that dies meanwhile cannot hold the caller.
	sctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(subscribeTimeout, cancel)
	st, err := c.subscribeTo(sctx, cancel, leader+"/api/v1/scheduler", body)
	if !timer.Stop() && err != nil && ctx.Err() == nil {
		err = fmt.Errorf("scheduler: no SUBSCRIBED from %s within %v: %w", leader, subscribeTimeout, err)
	}
	if err != nil {
		cancel()
	}
	return st, err
}

// subscribeTo sends SUBSCRIBE to target, following the leader's redirects a few times.
func (c *Client) subscribeTo(ctx context.Context, cancel context.CancelFunc, target string, body []byte) (*Stream, error) {
	for range 3 {
		resp, err := c.post(ctx, target, "", body)
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			return c.startStream(ctx, cancel, resp, target)
		case http.StatusTemporaryRedirect:
			loc := resp.Header.Get("Location")
			resp.Body.Close()
			if target, err = resolve(target, loc); err != nil {
				return nil, err
			}
		default:
			return nil, statusError(resp)
		}
	}
	return nil, fmt.Errorf("scheduler: too many redirects subscribing at %s", target)
}

func (c *Client) startStream(ctx context.Context, cancel context.CancelFunc, resp *http.Response, target string) (*Stream, error) {
	rr := mesos.NewRecordReader(resp.Body)
	var first mesos.Event
	if err := rr.ReadJSON(&first); err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("scheduler: reading SUBSCRIBED: %w", err)
	}
	if first.Type != mesos.EventSubscribed || first.Subscribed == nil {
		resp.Body.Close()
		if first.Error != nil {
			return nil, fmt.Errorf("scheduler: subscription refused: %s", first.Error.Message)
		}
		return nil, fmt.Errorf("scheduler: first event was %s, not SUBSCRIBED", first.Type)
	}
	c.SetFrameworkID(first.Subscribed.FrameworkID.Value)
	events := make(chan mesos.Event, 64)
	s := &Stream{
		Events:      events,
		c:           c,
		leader:      strings.TrimSuffix(target, "/api/v1/scheduler"),
		streamID:    resp.Header.Get("Mesos-Stream-Id"),
		frameworkID: first.Subscribed.FrameworkID.Value,
		body:        resp.Body,
		ctx:         ctx,
		cancel:      cancel,
		closing:     make(chan struct{}),
		done:        make(chan struct{}),
	}
	events <- first
	go func() {
		defer close(s.done)
		defer close(events)
		defer cancel() // ends the calls in flight too
		defer resp.Body.Close()
		for {
			var ev mesos.Event
			if err := rr.ReadJSON(&ev); err != nil {
				s.errMu.Lock()
				s.err = err
				s.errMu.Unlock()
				return
			}
			select {
			case events <- ev:
			case <-s.closing:
				return
			}
		}
	}()
	return s, nil
}

// Call sends a call within the stream; the master answers 202 when it accepted it.
func (s *Stream) Call(ctx context.Context, call mesos.Call) error {
	return s.call(ctx, call, true)
}

// call sends call; withStream ends it when the stream ends, as a master that is gone will not
// answer it.
func (s *Stream) call(ctx context.Context, call mesos.Call, withStream bool) error {
	if call.FrameworkID == nil {
		call.FrameworkID = &mesos.ID{Value: s.frameworkID}
	}
	body, err := json.Marshal(call)
	if err != nil {
		return err
	}
	// A call lives at most as long as its stream, and callTimeout: a master that died without
	// closing its sockets never answers.
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if withStream {
		defer context.AfterFunc(s.ctx, cancel)()
	}
	resp, err := s.c.post(ctx, s.leader+"/api/v1/scheduler", s.streamID, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// Accept launches tasks on offers; what the tasks do not use is declined with filters.
func (s *Stream) Accept(ctx context.Context, offerIDs []mesos.ID, ops []mesos.Operation, filters *mesos.Filters) error {
	return s.Call(ctx, mesos.Call{Type: mesos.CallAccept, Accept: &mesos.Accept{OfferIDs: offerIDs, Operations: ops, Filters: filters}})
}

// Launch accepts one offer with a LAUNCH of tasks.
func (s *Stream) Launch(ctx context.Context, offerID mesos.ID, tasks ...mesos.TaskInfo) error {
	return s.Accept(ctx, []mesos.ID{offerID}, []mesos.Operation{{
		Type: mesos.OperationLaunch, Launch: &mesos.Launch{TaskInfos: tasks},
	}}, nil)
}

// Decline declines offers.
func (s *Stream) Decline(ctx context.Context, offerIDs []mesos.ID, filters *mesos.Filters) error {
	return s.Call(ctx, mesos.Call{Type: mesos.CallDecline, Decline: &mesos.Decline{OfferIDs: offerIDs, Filters: filters}})
}

// Acknowledge acknowledges a status update that carries a UUID; others need none.
func (s *Stream) Acknowledge(ctx context.Context, st mesos.TaskStatus) error {
	if len(st.UUID) == 0 || st.AgentID == nil {
		return nil
	}
	return s.Call(ctx, mesos.Call{Type: mesos.CallAcknowledge, Acknowledge: &mesos.Acknowledge{
		AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID,
	}})
}

// Reconcile asks for the state of the given tasks, or of every task when none is given.
func (s *Stream) Reconcile(ctx context.Context, tasks ...mesos.ReconcileTask) error {
	return s.Call(ctx, mesos.Call{Type: mesos.CallReconcile, Reconcile: &mesos.Reconcile{Tasks: tasks}})
}

// Kill kills a task.
func (s *Stream) Kill(ctx context.Context, taskID string, agentID string) error {
	k := &mesos.Kill{TaskID: mesos.ID{Value: taskID}}
	if agentID != "" {
		k.AgentID = &mesos.ID{Value: agentID}
	}
	return s.Call(ctx, mesos.Call{Type: mesos.CallKill, Kill: k})
}

// Revive asks for offers again (for roles, or all).
func (s *Stream) Revive(ctx context.Context, roles ...string) error {
	return s.Call(ctx, mesos.Call{Type: mesos.CallRevive, Revive: &mesos.Revive{Roles: roles}})
}

// Suppress stops offers (for roles, or all) until Revive.
func (s *Stream) Suppress(ctx context.Context, roles ...string) error {
	return s.Call(ctx, mesos.Call{Type: mesos.CallSuppress, Suppress: &mesos.Suppress{Roles: roles}})
}

// Teardown removes the framework and kills all its tasks. The master ends the stream as it
// removes the framework, which must not cut this call short: only callTimeout bounds it.
func (s *Stream) Teardown(ctx context.Context) error {
	return s.call(ctx, mesos.Call{Type: mesos.CallTeardown}, false)
}

func (c *Client) post(ctx context.Context, target, streamID string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	if c.cfg.AuthToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.AuthToken)
	}
	return c.http.Do(req)
}

// resolve turns a Location header (Mesos sends "//host:port/path") into an absolute URL.
func resolve(from, loc string) (string, error) {
	base, err := url.Parse(from)
	if err != nil {
		return "", err
	}
	u, err := base.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("scheduler: bad redirect %q: %w", loc, err)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = base.Path
	}
	return u.String(), nil
}

// StatusError is a non-success HTTP answer from the master.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("scheduler: master answered %d: %s", e.Code, e.Message)
}

func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return &StatusError{Code: resp.StatusCode, Message: strings.TrimSpace(string(b))}
}
