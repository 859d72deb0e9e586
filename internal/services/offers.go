package services

import (
	"cmp"
	"slices"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/client/scheduler"
)

// Refusal filters sent with declines, in seconds.
const (
	refuseIdle     = 120.0 // nothing to launch: do not offer this agent again soon (REVIVE clears it)
	refuseUnfitted = 5.0   // launches of the offer's role wait but none fit this agent
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
	waiting := l.waitingRoles(now)
	l.mu.Unlock()
	if err != nil {
		l.declineAll(st, offers, refuseUnfitted)
		return err
	}

	unused := map[float64][]mesos.ID{} // by refusal filter
	idleRole := false                  // an offer came in a role with nothing waiting
	var used []int
	for i, o := range offers {
		if len(launches[i]) > 0 {
			used = append(used, i)
			continue
		}
		// Filters hold the agent back in the offer's role only (REVIVE of the role clears them).
		refuse := refuseIdle
		if containsSorted(waiting, offerRole(o)) {
			refuse = refuseUnfitted
		} else {
			idleRole = true
		}
		unused[refuse] = append(unused[refuse], o.ID)
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
	for refuse, ids := range unused {
		if err := st.Decline(l.ctx, ids, &mesos.Filters{RefuseSeconds: new(refuse)}); err != nil {
			l.log.Warn("decline", "err", err)
		}
		l.s.metrics.declined.Add(float64(len(ids)))
	}
	if queued == 0 || len(used) > 0 || idleRole {
		l.poke() // suppress the roles left with nothing to launch
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
		used := make([]bool, len(spaces))
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
					Role:          s.Role,
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
				used[i] = true
			}
		}
		a.offerLog.record(offers, spaces, used, left > 0, d, others, now)
	}
	return launches, created
}

// offerLog is what the offers considered for an app's queued instances said, for /v2/queue:
// counts, and why the last ones were declined. It lives in memory only, as Marathon's.
type offerLog struct {
	processed, unused    int
	lastUsed, lastUnused time.Time
	lastOffers           []marathon.DeclinedOfferStep // the funnel of the last offers that left instances queued
	lastUnusedOffers     []marathon.UnusedOffer
}

// maxUnusedOffers bounds the unused offers an app's queue entry shows.
const maxUnusedOffers = 10

// record adds a round of offers: used[i] tells whether offer i took an instance; when some were
// left queued, the reasons the others (spaces, what is left of them) could not take one more.
func (g *offerLog) record(offers []mesos.Offer, spaces []*offerSpace, used []bool, left bool, d demand, others []placed, now time.Time) {
	g.processed += len(offers)
	for _, u := range used {
		if u {
			g.lastUsed = now
		}
	}
	if !left {
		return
	}
	funnel := make([]marathon.DeclinedOfferStep, len(rejectReasons))
	for k, r := range rejectReasons {
		funnel[k].Reason = r
	}
	for i, s := range spaces {
		why := unfit(s, d, others)
		if len(why) == 0 {
			continue
		}
		if !used[i] {
			g.unused++
			g.lastUnused = now
		}
		first := slices.Index(rejectReasons, why[0])
		for k := 0; k <= first; k++ {
			funnel[k].Processed++
		}
		funnel[first].Declined++
		g.lastUnusedOffers = append(g.lastUnusedOffers, marathon.UnusedOffer{Offer: queueOffer(offers[i]), Reason: why, Timestamp: timestamp(now)})
	}
	g.lastOffers = funnel
	if n := len(g.lastUnusedOffers); n > maxUnusedOffers {
		g.lastUnusedOffers = slices.Clone(g.lastUnusedOffers[n-maxUnusedOffers:])
	}
}

// summary returns the counts as /v2/queue shows them.
func (g *offerLog) summary() marathon.ProcessedOffersSummary {
	s := marathon.ProcessedOffersSummary{ProcessedOffersCount: g.processed, UnusedOffersCount: g.unused, RejectSummaryLastOffers: g.lastOffers}
	if !g.lastUsed.IsZero() {
		s.LastUsedOfferAt = timestamp(g.lastUsed)
	}
	if !g.lastUnused.IsZero() {
		s.LastUnusedOfferAt = timestamp(g.lastUnused)
	}
	return s
}

// queueOffer returns an offer as /v2/queue shows it.
func queueOffer(o mesos.Offer) marathon.Offer {
	out := marathon.Offer{ID: o.ID.Value, Hostname: o.Hostname, AgentID: o.AgentID.Value, Resources: []marathon.OfferResource{}, Attributes: []marathon.AgentAttribute{}}
	for _, r := range o.Resources {
		or := marathon.OfferResource{Name: r.Name, Role: cmp.Or(r.Role, "*")}
		if r.Scalar != nil {
			or.Scalar = new(r.Scalar.Value)
		}
		if r.Ranges != nil {
			for _, rg := range r.Ranges.Range {
				or.Ranges = append(or.Ranges, marathon.NumberRange{Begin: int64(rg.Begin), End: int64(rg.End)})
			}
		}
		if r.Set != nil {
			or.Set = r.Set.Item
		}
		out.Resources = append(out.Resources, or)
	}
	for _, a := range o.Attributes {
		out.Attributes = append(out.Attributes, marathon.AgentAttribute{Name: a.Name, Text: a.String()})
	}
	return out
}
