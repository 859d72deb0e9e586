package services

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
	"github.com/marina-dcos/marina/internal/coord"
)

// leader is one term of leadership: the whole in-memory state, loaded from etcd when elected and
// written through to it, and the loops that act on it. Everything ends with the term.
type leader struct {
	s      *Server
	log    *slog.Logger
	term   coord.Term
	ctx    context.Context // the term's, or shorter: cancelled on abdication
	cancel context.CancelFunc

	// mu guards the state below. Writers hold it across their etcd write, so writes reach etcd
	// in the order they were made.
	mu          sync.RWMutex
	frameworkID string
	apps        map[string]*app
	instances   map[string]*instance
	byApp       map[string]map[string]*instance // app id -> task id -> instance
	deployments map[string]*deployment
	deployOf    map[string]*deployment // app id -> its running deployment
	groups      map[string]*group      // group id -> the group, for groups made through /v2/groups
	lastVersion time.Time              // the latest version handed out

	// What the actuator acts on. Guarded by mu.
	offers           offerState
	demandSeq        uint64 // bumped whenever more launches become wanted
	reconcilePending bool   // reconcile at the next actuation
	lastReconcile    time.Time
	strays           map[string]string  // tasks of ours we do not know: task id -> agent id, to kill
	killing          map[*instance]bool // indexed instances being killed (Kill set), so that sending kills scans only them

	subRoles []string // the roles of the current subscription, sorted. Guarded by mu.

	http   *http.Client // the scheduler clients', one for the term
	stream atomic.Pointer[scheduler.Stream]
	kick   chan struct{} // wakes the actuator
	// resub asks serve to end the subscription it serves, to subscribe again with new roles.
	resub chan *scheduler.Stream
	// reviveFirst has the actuator REVIVE before anything else at its next wake-up (reviveEarly).
	reviveFirst atomic.Pointer[reviveCall]
	wg          sync.WaitGroup
}

func newLeader(s *Server, term coord.Term, snap *snapshot) *leader {
	ctx, cancel := context.WithCancel(term.Ctx)
	l := &leader{
		s:           s,
		log:         s.log,
		term:        term,
		ctx:         ctx,
		cancel:      cancel,
		frameworkID: snap.frameworkID,
		apps:        snap.apps,
		instances:   snap.instances,
		byApp:       map[string]map[string]*instance{},
		deployments: snap.deployments,
		groups:      snap.groups,
		strays:      map[string]string{},
		killing:     map[*instance]bool{},
		kick:        make(chan struct{}, 1),
		resub:       make(chan *scheduler.Stream, 1),
		http:        schedulerHTTP(s.cfg.ClientTLS),
	}
	for _, in := range l.instances {
		l.index(in)
	}
	l.indexDeployments()
	for _, a := range l.apps {
		if t, err := time.Parse(time.RFC3339Nano, a.spec.Version); err == nil && t.After(l.lastVersion) {
			l.lastVersion = t
		}
	}
	return l
}

// schedulerHTTP returns the HTTP client of the term's subscriptions: no redirects followed (the
// scheduler client follows a master's to its leader itself), tlsCfg verifying https masters.
func schedulerHTTP(tlsCfg *tls.Config) *http.Client {
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if tlsCfg != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tlsCfg
		hc.Transport = tr
	}
	return hc
}

// newClient returns a scheduler client subscribing in roles, as the framework id when known.
func (l *leader) newClient(roles []string, frameworkID string) *scheduler.Client {
	info := l.s.frameworkInfo()
	info.Roles = roles
	c := scheduler.New(scheduler.Config{Masters: l.s.cfg.Masters, Framework: info, AuthToken: l.s.cfg.AuthToken, HTTPClient: l.http})
	c.SetFrameworkID(frameworkID)
	return c
}

// indexDeployments rebuilds deployOf from the deployments, forgetting those without a plan
// (written by an older version). l.mu must be held, or l not yet shared.
func (l *leader) indexDeployments() {
	l.deployOf = map[string]*deployment{}
	for id, d := range l.deployments {
		if len(d.Plan) == 0 {
			l.log.Warn("forgetting a deployment without a plan", "deployment_id", id)
			delete(l.deployments, id)
			continue
		}
		for _, app := range d.apps() {
			l.deployOf[app] = d
		}
	}
}

// run serves the term until it ends.
func (l *leader) run() {
	defer l.cancel()
	now := l.s.now()
	l.mu.Lock()
	o := &ops{}
	for id := range l.apps {
		l.converge(id, now, o)
	}
	for id := range l.byApp {
		if l.apps[id] == nil {
			l.converge(id, now, o)
		}
	}
	if err := l.commit(o); err != nil {
		l.log.Warn("persisting the first plan failed", "err", err)
	}
	l.mu.Unlock()
	l.goTracked(l.subscribeLoop)
	l.goTracked(l.actuate)
	l.goTracked(l.housekeeping)
	l.goTracked(l.checkReadiness)
	l.poke()
	<-l.ctx.Done()
	l.wg.Wait()
}

func (l *leader) goTracked(f func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
}

// abdicate ends the term early: the leader steps down and another instance is elected.
func (l *leader) abdicate() { l.cancel() }

// poke wakes the actuator: kills to send, offers to revive or suppress.
func (l *leader) poke() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func (l *leader) index(in *instance) {
	m := l.byApp[in.AppID]
	if m == nil {
		m = map[string]*instance{}
		l.byApp[in.AppID] = m
	}
	m[in.TaskID] = in
	l.instances[in.TaskID] = in
	if in.Kill {
		l.killing[in] = true
	}
}

// kill marks an indexed instance to be killed. l.mu must be held.
func (l *leader) kill(in *instance) {
	in.Kill = true
	l.killing[in] = true
}

func (l *leader) unindex(in *instance) {
	delete(l.instances, in.TaskID)
	delete(l.killing, in)
	if m := l.byApp[in.AppID]; m != nil {
		delete(m, in.TaskID)
		if len(m) == 0 {
			delete(l.byApp, in.AppID)
		}
	}
}

// appInstances returns the instances of an app, in task id order.
func (l *leader) appInstances(id string) []*instance {
	m := l.byApp[id]
	out := make([]*instance, 0, len(m))
	for _, in := range m {
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b *instance) int {
		if c := a.StagedAt.Compare(b.StagedAt); c != 0 {
			return c
		}
		if a.TaskID < b.TaskID {
			return -1
		}
		return 1
	})
	return out
}

// commit persists o through the term, then publishes its events. l.mu must be held.
func (l *leader) commit(o *ops) error {
	if o.empty() {
		return nil
	}
	events := o.events
	ctx, cancel := context.WithTimeout(l.ctx, 10*time.Second)
	defer cancel()
	err := o.commit(ctx, l.term)
	if err != nil {
		if errors.Is(err, coord.ErrNotLeader) || l.ctx.Err() != nil {
			return fmt.Errorf("%w: %w", errNotLeader, err)
		}
		return err
	}
	for _, e := range events {
		l.s.hub.publish(e)
	}
	return nil
}

// commitOrResync commits o; when that fails while still leading, the state in memory may be
// ahead of etcd, so it is read back from etcd. l.mu must be held.
func (l *leader) commitOrResync(o *ops) error {
	err := l.commit(o)
	if err == nil || errors.Is(err, errNotLeader) {
		return err
	}
	l.log.Error("persisting a change failed; reloading the state from etcd", "err", err)
	ctx, cancel := context.WithTimeout(l.ctx, 10*time.Second)
	defer cancel()
	snap, lerr := load(ctx, l.s.cfg.Etcd)
	if lerr != nil {
		l.log.Error("reloading the state failed", "err", lerr)
		return err
	}
	l.frameworkID = snap.frameworkID
	l.apps, l.instances, l.deployments, l.groups = snap.apps, snap.instances, snap.deployments, snap.groups
	l.byApp = map[string]map[string]*instance{}
	l.killing = map[*instance]bool{}
	for _, in := range l.instances {
		l.index(in)
	}
	l.indexDeployments()
	return err
}

// converge plans an app anew (replan) and advances the deployment that changes it. l.mu must
// be held.
func (l *leader) converge(id string, now time.Time, o *ops) {
	l.replan(id, now, o)
	if d := l.deployOf[id]; d != nil {
		l.advanceDeployment(d, now, o)
	}
}

// replan sets how many instances of an app wait for offers and marks the instances to kill
// (writing them to o when given). An app that no longer exists has all its instances killed;
// an app its deployment holds back is left as it is. l.mu must be held.
func (l *leader) replan(id string, now time.Time, o *ops) {
	a := l.apps[id]
	if a != nil {
		a.invalidate()
	}
	if d := l.deployOf[id]; d != nil && d.held(id) {
		if a != nil {
			a.queued = 0
		}
		return
	}
	insts := l.appInstances(id)
	var kill []*instance
	if a == nil {
		for _, in := range insts {
			if !in.Kill && !in.State.Terminal() {
				kill = append(kill, in)
			}
		}
	} else {
		before := a.queued
		a.queued, kill = plan(goalOf(a.spec), insts, now)
		if a.queued > before {
			l.demandSeq++
			l.poke()
		}
	}
	for _, in := range kill {
		l.kill(in)
		if o != nil {
			o.putInstance(in)
		}
	}
	if len(kill) > 0 {
		l.poke()
	}
}

// queuedTotal returns how many instances wait for offers, across apps. l.mu must be held.
func (l *leader) wanted(now time.Time) (queued int, nextReady time.Time) {
	for _, a := range l.apps {
		if a.queued == 0 {
			continue
		}
		if a.backoff.ready(now) {
			queued += a.queued
		} else if nextReady.IsZero() || a.backoff.LaunchAfter.Before(nextReady) {
			nextReady = a.backoff.LaunchAfter
		}
	}
	return queued, nextReady
}

// mesosTask is what the master needs to act on an instance.
func reconcileTask(in *instance) mesos.ReconcileTask {
	rt := mesos.ReconcileTask{TaskID: mesos.ID{Value: in.TaskID}}
	if in.AgentID != "" {
		rt.AgentID = &mesos.ID{Value: in.AgentID}
	}
	return rt
}
