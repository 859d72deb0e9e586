package services

import (
	"slices"
	"time"

	"github.com/marina-dcos/marina/internal/client/scheduler"
)

// The actuator sends the master what the state asks for, outside the state's lock: kills,
// REVIVE or SUPPRESS, and reconciliation requests.

// offerState is what the master was last told about offers.
type offerState struct {
	known      bool     // false until the first REVIVE or SUPPRESS of a subscription
	suppressed bool     // in every role
	revivedSeq uint64   // demand sequence at the last REVIVE
	revived    []string // the roles revived then, sorted; the framework's others were suppressed
}

// reviveCall is a REVIVE of roles, after a SUPPRESS of the framework's other roles.
type reviveCall struct {
	revive, suppress []string
}

// actuate sends what the state asks of the master: kills, and REVIVE or SUPPRESS as launches
// are wanted or not. It runs whenever poked.
func (l *leader) actuate() {
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-l.kick:
		}
		st := l.stream.Load()
		if st == nil {
			continue
		}
		if c := l.reviveFirst.Swap(nil); c != nil {
			l.revive(st, *c)
		}
		l.resubscribeIfNeeded(st)
		l.sendKills(st)
		l.reviveOrSuppress(st)
		if l.takeReconcile() {
			l.reconcile(st)
		} else {
			l.reconcileUnanswered(st)
		}
	}
}

func (l *leader) takeReconcile() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.reconcilePending
	l.reconcilePending = false
	return p
}

// killResend is how long a KILL may go unanswered before it is sent again.
const killResend = 10 * time.Second

func (l *leader) sendKills(st *scheduler.Stream) {
	now := l.s.now()
	type kill struct{ task, agent string }
	var kills []kill
	l.mu.Lock()
	for in := range l.killing {
		if !in.State.Terminal() && in.Unreachable.IsZero() && now.Sub(in.killSentAt) >= killResend {
			in.killSentAt = now
			kills = append(kills, kill{in.TaskID, in.AgentID})
		}
	}
	for id, agent := range l.strays {
		kills = append(kills, kill{id, agent})
		delete(l.strays, id)
	}
	l.mu.Unlock()
	l.parallel(len(kills), func(i int) {
		if err := st.Kill(l.ctx, kills[i].task, kills[i].agent); err != nil {
			l.log.Warn("kill", "task_id", kills[i].task, "err", err)
			return
		}
		l.s.metrics.kills.Inc()
	})
}

// reviveEarly has the actuator REVIVE offers at once, before it takes the state's lock, when
// launches are wanted that the master was not told about: a change that queues launches then
// has offers on their way while it is written to etcd. l.mu must be held.
func (l *leader) reviveEarly(now time.Time) {
	roles := l.reviveRoles(now)
	if !l.reviveDue(roles) {
		return
	}
	l.offers = offerState{known: true, revivedSeq: l.demandSeq, revived: roles}
	l.reviveFirst.Store(&reviveCall{revive: roles, suppress: without(l.subRoles, roles)})
	l.poke()
}

// reviveRoles returns the roles to revive, sorted: those of the subscription that apps with
// launches waiting have. Apps of a role the subscription lacks wait for the next one. l.mu must
// be held.
func (l *leader) reviveRoles(now time.Time) []string {
	var out []string
	for _, r := range l.waitingRoles(now) {
		if containsSorted(l.subRoles, r) {
			out = append(out, r)
		}
	}
	return out
}

// reviveDue reports whether launches wait in roles (reviveRoles) that the master was not told
// about with a REVIVE. l.mu must be held.
func (l *leader) reviveDue(roles []string) bool {
	os := l.offers
	return len(roles) > 0 && (!os.known || os.suppressed || os.revivedSeq != l.demandSeq || !slices.Equal(os.revived, roles))
}

// without returns the roles of all (sorted) that are not in drop (sorted).
func without(all, drop []string) []string {
	var out []string
	for _, r := range all {
		if !containsSorted(drop, r) {
			out = append(out, r)
		}
	}
	return out
}

// revive suppresses the roles with nothing to launch and revives the others; when it fails, the
// offer state is forgotten so that it is sent again.
func (l *leader) revive(st *scheduler.Stream, c reviveCall) {
	l.s.metrics.revives.Inc()
	var err error
	if len(c.suppress) > 0 {
		err = st.Suppress(l.ctx, c.suppress...)
	}
	if err == nil {
		err = st.Revive(l.ctx, c.revive...)
	}
	if err != nil {
		l.log.Warn("revive failed", "err", err)
		l.mu.Lock()
		l.offers = offerState{}
		l.mu.Unlock()
	}
}

func (l *leader) reviveOrSuppress(st *scheduler.Stream) {
	now := l.s.now()
	l.mu.Lock()
	roles := l.reviveRoles(now)
	os := l.offers
	var call *reviveCall
	suppress := false
	switch {
	case l.reviveDue(roles):
		call = &reviveCall{revive: roles, suppress: without(l.subRoles, roles)}
		l.offers = offerState{known: true, revivedSeq: l.demandSeq, revived: roles}
	case len(roles) == 0 && (!os.known || !os.suppressed):
		suppress = true
		l.offers = offerState{known: true, suppressed: true, revivedSeq: os.revivedSeq}
	}
	l.mu.Unlock()
	switch {
	case call != nil:
		l.revive(st, *call)
	case suppress:
		if err := st.Suppress(l.ctx); err != nil {
			l.log.Warn("suppress failed", "err", err)
			l.mu.Lock()
			l.offers = offerState{}
			l.mu.Unlock()
		}
	}
}

// parallel runs f(0..n-1) on a few goroutines and waits.
func (l *leader) parallel(n int, f func(i int)) {
	const workers = 8
	if n <= 1 {
		if n == 1 {
			f(0)
		}
		return
	}
	next := make(chan int)
	done := make(chan struct{})
	w := min(workers, n)
	for range w {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	for range w {
		<-done
	}
}
