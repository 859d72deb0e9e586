package services

import (
	"time"

	"github.com/marina-dcos/marina/internal/client/scheduler"
)

// The actuator sends the master what the state asks for, outside the state's lock: kills,
// REVIVE or SUPPRESS, and reconciliation requests.

// offerState is what the master was last told about offers.
type offerState struct {
	known      bool // false until the first REVIVE or SUPPRESS of a subscription
	suppressed bool
	revivedSeq uint64 // demand sequence at the last REVIVE
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
		if l.reviveFirst.Swap(false) {
			l.revive(st)
		}
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
	if queued, _ := l.wanted(now); !l.reviveDue(queued) {
		return
	}
	l.offers = offerState{known: true, revivedSeq: l.demandSeq}
	l.reviveFirst.Store(true)
	l.poke()
}

// reviveDue reports whether queued launches are ones the master was not told about with a
// REVIVE. l.mu must be held.
func (l *leader) reviveDue(queued int) bool {
	os := l.offers
	return queued > 0 && (!os.known || os.suppressed || os.revivedSeq != l.demandSeq)
}

// revive sends REVIVE; when it fails, the offer state is forgotten so that it is sent again.
func (l *leader) revive(st *scheduler.Stream) {
	l.s.metrics.revives.Inc()
	if err := st.Revive(l.ctx); err != nil {
		l.log.Warn("revive failed", "err", err)
		l.mu.Lock()
		l.offers = offerState{}
		l.mu.Unlock()
	}
}

func (l *leader) reviveOrSuppress(st *scheduler.Stream) {
	now := l.s.now()
	l.mu.Lock()
	queued, _ := l.wanted(now)
	seq := l.demandSeq
	os := l.offers
	var call string
	switch {
	case l.reviveDue(queued):
		call = "revive"
		l.offers = offerState{known: true, revivedSeq: seq}
	case queued == 0 && (!os.known || !os.suppressed):
		call = "suppress"
		l.offers = offerState{known: true, suppressed: true, revivedSeq: os.revivedSeq}
	}
	l.mu.Unlock()
	switch call {
	case "revive":
		l.revive(st)
	case "suppress":
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
