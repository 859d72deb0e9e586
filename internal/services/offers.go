package services

import (
	"cmp"
	"slices"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
)

// Refusal filters sent with declines, in seconds.
const (
	refuseIdle     = 120.0 // nothing to launch: do not offer this agent again soon (REVIVE clears it)
	refuseUnfitted = 5.0   // launches wait but none fit this agent
)

// handleOffers places waiting instances on offers, several per offer when they fit, spreading
// them over the offers round by round. New instances are persisted before the ACCEPT: a task the
// master runs is always one the services role knows. Offers left unused are declined.
func (l *leader) handleOffers(st *scheduler.Stream, offers []mesos.Offer) error {
	now := l.s.now()
	l.s.metrics.offers.Add(float64(len(offers)))
	l.mu.Lock()
	launches, placedNew := l.match(offers, now)
	o := &ops{}
	for _, in := range placedNew {
		l.index(in)
		o.putInstance(in)
	}
	touched := map[string]bool{}
	for _, in := range placedNew {
		touched[in.AppID] = true
	}
	for id := range touched {
		l.converge(id, now, o)
	}
	err := l.commit(o)
	if err != nil {
		for _, in := range placedNew {
			l.unindex(in)
		}
		for id := range touched {
			l.converge(id, now, &ops{})
		}
	}
	queued, _ := l.wanted(now)
	l.mu.Unlock()
	if err != nil {
		l.declineAll(st, offers, refuseUnfitted)
		return err
	}

	refuse := refuseIdle
	if queued > 0 {
		refuse = refuseUnfitted
	}
	var unused []mesos.ID
	var used []int
	for i := range offers {
		if len(launches[i]) == 0 {
			unused = append(unused, offers[i].ID)
		} else {
			used = append(used, i)
		}
	}
	l.parallel(len(used), func(k int) {
		i := used[k]
		err := st.Accept(l.ctx, []mesos.ID{offers[i].ID}, []mesos.Operation{{
			Type: mesos.OperationLaunch, Launch: &mesos.Launch{TaskInfos: launches[i]},
		}}, &mesos.Filters{RefuseSeconds: new(refuseUnfitted)})
		if err != nil {
			// The instances stay STAGING; reconciliation finds them unknown and replaces them.
			l.log.Warn("accept", "offer_id", offers[i].ID.Value, "err", err)
			return
		}
		l.s.metrics.launched.Add(float64(len(launches[i])))
	})
	if len(unused) > 0 {
		if err := st.Decline(l.ctx, unused, &mesos.Filters{RefuseSeconds: new(refuse)}); err != nil {
			l.log.Warn("decline", "err", err)
		}
		l.s.metrics.declined.Add(float64(len(unused)))
	}
	if queued == 0 {
		l.poke() // suppress
	}
	return nil
}

// declineAll declines offers unused.
func (l *leader) declineAll(st *scheduler.Stream, offers []mesos.Offer, refuse float64) {
	if len(offers) == 0 {
		return
	}
	ids := make([]mesos.ID, len(offers))
	for i, o := range offers {
		ids[i] = o.ID
	}
	if err := st.Decline(l.ctx, ids, &mesos.Filters{RefuseSeconds: new(refuse)}); err != nil {
		l.log.Warn("decline", "err", err)
	}
}

// match decides which waiting instances go on which offer. It returns the tasks to launch per
// offer (by index) and the new instances. l.mu must be held.
func (l *leader) match(offers []mesos.Offer, now time.Time) ([][]mesos.TaskInfo, []*instance) {
	launches := make([][]mesos.TaskInfo, len(offers))
	var created []*instance
	var ids []string
	for id, a := range l.apps {
		if a.queued > 0 && a.backoff.ready(now) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return launches, nil
	}
	slices.SortFunc(ids, func(x, y string) int {
		return cmp.Or(cmp.Compare(l.apps[x].spec.Version, l.apps[y].spec.Version), cmp.Compare(x, y))
	})
	spaces := make([]*offerSpace, len(offers))
	for i, o := range offers {
		spaces[i] = newOfferSpace(o)
	}
	for _, id := range ids {
		a := l.apps[id]
		d := demandOf(a.spec)
		g := goalOf(a.spec)
		var others []placed
		for _, in := range l.byApp[id] {
			if counts(in, g, now) {
				others = append(others, placed{Host: in.Host, Attributes: in.Attributes})
			}
		}
		left := a.queued
		for progress := true; left > 0 && progress; {
			progress = false
			for i, s := range spaces {
				if left == 0 {
					break
				}
				ports, ok := fit(s, d, others)
				if !ok {
					continue
				}
				in := &instance{
					TaskID:        newTaskID(id),
					AppID:         id,
					Version:       a.spec.Version,
					ConfigVersion: a.configVersion(),
					AgentID:       s.AgentID,
					Host:          s.Hostname,
					Attributes:    s.Attributes,
					Ports:         ports,
					State:         mesos.TaskStaging,
					StagedAt:      now,
				}
				launches[i] = append(launches[i], buildTask(a.spec, in, offers[i]))
				created = append(created, in)
				others = append(others, placed{Host: in.Host, Attributes: in.Attributes})
				left--
				progress = true
			}
		}
	}
	return launches, created
}
