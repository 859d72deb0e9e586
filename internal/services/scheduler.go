package services

import (
	"context"
	"errors"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
	"github.com/marina-dcos/marina/internal/coord"
)

// The leader's conversation with the Mesos master, through the v1 scheduler API only.

// subscribeLoop subscribes as the framework (re-using its persisted id) and serves each
// subscription until it breaks, then subscribes again, until the term ends.
func (l *leader) subscribeLoop() {
	wait := 100 * time.Millisecond
	for l.ctx.Err() == nil {
		// Subscribing takes the framework over from whoever holds it: make sure this instance
		// still leads, or two deposed and new leaders would take it from each other in turn.
		if err := l.checkLeader(); err != nil {
			if errors.Is(err, errNotLeader) {
				l.log.Warn("no longer the services leader; stepping down")
				l.abdicate()
				return
			}
			l.log.Warn("checking the leadership failed; retrying", "err", err)
			if !sleepCtx(l.ctx, wait) {
				return
			}
			continue
		}
		l.mu.RLock()
		roles, id := l.frameworkRoles(), l.frameworkID
		l.mu.RUnlock()
		st, err := l.newClient(roles, id).Subscribe(l.ctx)
		if err != nil {
			if l.ctx.Err() != nil {
				return
			}
			l.log.Warn("subscribing to the master failed; retrying", "err", err, "in", wait)
			if !sleepCtx(l.ctx, wait) {
				return
			}
			wait = min(2*wait, 2*time.Second)
			continue
		}
		wait = 100 * time.Millisecond
		if err := l.subscribed(st, roles); err != nil {
			l.log.Warn("recording the subscription failed", "err", err)
			closeStream(st)
			if !sleepCtx(l.ctx, wait) {
				return
			}
			continue
		}
		resubscribe := l.serve(st)
		l.stream.Store(nil)
		closeStream(st)
		if resubscribe {
			continue // at once, with the roles the apps have now
		}
		l.s.metrics.subscribed.Set(0)
		l.s.hub.publish(newEvent(evDisconnected, marathon.SchedulerEvent{
			EventMeta: marathon.EventMeta{EventType: evDisconnected, Timestamp: timestamp(l.s.now())}, Master: st.Leader(),
		}))
		if l.ctx.Err() == nil {
			l.log.Info("subscription ended; subscribing again", "err", st.Err())
		}
	}
}

// resubscribeIfNeeded has serve end the subscription st when an app has a role it lacks, so
// that the framework subscribes again with it (Mesos lets a MULTI_ROLE framework change its
// roles on re-subscription).
func (l *leader) resubscribeIfNeeded(st *scheduler.Stream) {
	l.mu.RLock()
	role := l.missingRole(l.subRoles)
	l.mu.RUnlock()
	if role == "" {
		return
	}
	select {
	case l.resub <- st:
		l.log.Info("an app has a role the framework lacks; subscribing again", "role", role)
	default:
	}
}

// checkLeader confirms through etcd that the term is still current.
func (l *leader) checkLeader() error {
	ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
	defer cancel()
	if err := l.term.Do(ctx); err != nil {
		if errors.Is(err, coord.ErrNotLeader) {
			return errNotLeader
		}
		return err
	}
	return nil
}

// subscribed persists a new framework id and starts reconciliation; roles are the
// subscription's.
func (l *leader) subscribed(st *scheduler.Stream, roles []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	typ := evReregistered
	if id := st.FrameworkID(); id != l.frameworkID {
		o := &ops{}
		o.put(frameworkIDKey, id)
		if err := l.commit(o); err != nil {
			return err
		}
		l.log.Info("registered as a framework", "framework_id", id)
		l.frameworkID = id
		typ = evRegistered
	}
	l.s.hub.publish(newEvent(typ, marathon.SchedulerEvent{
		EventMeta:   marathon.EventMeta{EventType: typ, Timestamp: timestamp(l.s.now())},
		FrameworkID: st.FrameworkID(), Master: st.Leader(),
	}))
	for _, in := range l.instances {
		in.reconciled = false
		in.killSentAt = time.Time{}
	}
	l.offers = offerState{}
	l.reconcilePending = true
	l.subRoles = roles
	l.stream.Store(st)
	l.s.metrics.subscribed.Set(1)
	l.log.Info("subscribed to the master", "framework_id", st.FrameworkID(), "master", st.Leader(), "roles", roles)
	l.poke()
	return nil
}

// serve handles a subscription's events until it ends; it reports whether it ended to subscribe
// again with new roles (resubscribe). Events that arrive together are handled as one batch:
// one etcd transaction and then the acknowledgements.
func (l *leader) serve(st *scheduler.Stream) bool {
	heartbeat := 15 * time.Second
	timer := time.NewTimer(3 * heartbeat)
	defer timer.Stop()
	const maxBatch = 512
	for {
		var batch []mesos.Event
		select {
		case <-l.ctx.Done():
			return false
		case <-timer.C:
			l.log.Warn("no event from the master for three heartbeats; subscribing again")
			return false
		case s := <-l.resub:
			if s == st {
				return true
			}
			l.poke() // a request meant for an earlier subscription: look again
			continue
		case ev, ok := <-st.Events:
			if !ok {
				return false
			}
			batch = append(batch, ev)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case ev, ok := <-st.Events:
				if !ok {
					break drain
				}
				batch = append(batch, ev)
			default:
				break drain
			}
		}
		for _, ev := range batch {
			if ev.Type == mesos.EventSubscribed && ev.Subscribed != nil && ev.Subscribed.HeartbeatIntervalSeconds > 0 {
				heartbeat = time.Duration(ev.Subscribed.HeartbeatIntervalSeconds * float64(time.Second))
			}
		}
		timer.Reset(3 * heartbeat)
		if err := l.handle(st, batch); err != nil {
			if errors.Is(err, errResubscribe) {
				return false
			}
			if !errors.Is(err, errNotLeader) {
				l.log.Warn("handling master events", "err", err)
			}
			if l.ctx.Err() != nil {
				return false
			}
		}
	}
}

// handle applies a batch of events: status updates first (so that replacements are queued),
// then offers.
func (l *leader) handle(st *scheduler.Stream, batch []mesos.Event) error {
	var updates []mesos.TaskStatus
	var offers []mesos.Offer
	for _, ev := range batch {
		switch ev.Type {
		case mesos.EventUpdate:
			if ev.Update != nil {
				updates = append(updates, ev.Update.Status)
			}
		case mesos.EventOffers:
			if ev.Offers != nil {
				offers = append(offers, ev.Offers.Offers...)
			}
		case mesos.EventError:
			msg := ""
			if ev.Error != nil {
				msg = ev.Error.Message
			}
			l.log.Warn("the master reported an error", "message", msg)
			if msg == "Framework has been removed" {
				l.forgetFramework()
			}
			return errResubscribe
		case mesos.EventFailure:
			if ev.Failure != nil && ev.Failure.AgentID != nil {
				l.log.Info("agent lost", "agent_id", ev.Failure.AgentID.Value)
			}
		}
	}
	if len(updates) > 0 {
		if err := l.handleUpdates(st, updates); err != nil {
			l.declineAll(st, offers, 1)
			return err
		}
	}
	if len(offers) > 0 {
		return l.handleOffers(st, offers)
	}
	return nil
}

// errResubscribe ends a subscription the master asked to end.
var errResubscribe = errors.New("services: the master ended the subscription")

// closeStream closes a subscription, draining its events meanwhile: the stream's reader may be
// blocked handing over an event, and would never notice the close.
func closeStream(st *scheduler.Stream) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.Close()
	}()
	for range st.Events {
	}
	<-done
}

// forgetFramework drops a framework id the master no longer knows: the next subscription
// registers anew.
func (l *leader) forgetFramework() {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := &ops{}
	o.del(frameworkIDKey)
	if err := l.commit(o); err != nil {
		l.log.Warn("forgetting the framework id", "err", err)
		return
	}
	l.frameworkID = ""
}

// housekeeping runs the timed work: unreachable instances turning inactive or expunged,
// backoffs ending, kills to repeat, instances to reconcile.
func (l *leader) housekeeping() {
	t := time.NewTicker(l.s.cfg.Tick)
	defer t.Stop()
	lastFull := l.s.now()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		now := l.s.now()
		l.tick(now)
		if now.Sub(lastFull) >= l.s.cfg.ReconcileInterval {
			lastFull = now
			l.mu.Lock()
			l.reconcilePending = true
			l.mu.Unlock()
		}
		l.poke()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
