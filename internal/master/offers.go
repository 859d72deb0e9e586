package master

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// triggerAllocation asks for an allocation pass; triggers within AllocationDelay make one pass.
func (m *Master) triggerAllocation(st *leaderState) {
	select {
	case st.allocKick <- struct{}{}:
	default:
	}
}

// wakeAt asks for an allocation pass at t (real clock), when a filter expires.
func (m *Master) wakeAt(st *leaderState, t time.Time) {
	i, found := slices.BinarySearchFunc(st.wakes, t, func(a, b time.Time) int { return a.Compare(b) })
	if found {
		return
	}
	st.wakes = slices.Insert(st.wakes, i, t)
	select {
	case st.wakeSignal <- struct{}{}:
	default:
	}
}

// allocationLoop runs allocation passes when triggered, batching triggers within
// AllocationDelay, and when filters expire. It never polls.
func (m *Master) allocationLoop(ctx context.Context, st *leaderState) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		m.mu.Lock()
		var next time.Time
		if len(st.wakes) > 0 {
			next = st.wakes[0]
		}
		m.mu.Unlock()
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-st.wakeSignal:
			timer.Stop()
			continue
		case <-timer.C:
		case <-st.allocKick:
			timer.Stop()
			select {
			case <-ctx.Done():
				return
			case <-time.After(m.cfg.AllocationDelay):
			}
		}
		select { // triggers that came during the delay are served by this pass
		case <-st.allocKick:
		default:
		}
		m.allocate(st)
	}
}

// allocate runs one allocation pass and sends the offers it makes.
func (m *Master) allocate(st *leaderState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st != st {
		return
	}
	mono := time.Now()
	for len(st.wakes) > 0 && !st.wakes[0].After(mono) {
		st.wakes = st.wakes[1:]
	}
	offers := st.alloc.Run(m.now())
	m.metrics.allocationDuration.Observe(time.Since(mono).Seconds())
	m.metrics.allocationRuns.Inc()
	byFramework := map[*framework][]mesos.Offer{}
	for _, ao := range offers {
		f, a := st.frameworks[ao.FrameworkID], st.agents[ao.AgentID]
		if f == nil || f.conn == nil || a == nil || !a.active() {
			m.log.Warn("allocator offered to an inactive framework or agent; recovering",
				"framework_id", ao.FrameworkID, "agent_id", ao.AgentID)
			st.alloc.Recover(ao.AgentID, ao.FrameworkID, ao.Resources)
			continue
		}
		o := &offer{
			id:          fmt.Sprintf("%s-O%d", st.id, st.nextOffer),
			frameworkID: f.id,
			agentID:     a.id,
			role:        ao.Role,
			resources:   ao.Resources.WithAllocationRole(ao.Role),
			created:     mono,
		}
		st.nextOffer++
		st.offers[o.id], f.offers[o.id], a.offers[o.id] = o, o, o
		byFramework[f] = append(byFramework[f], m.wireOffer(o, a))
	}
	for f, list := range byFramework {
		f.conn.send(mesos.Event{Type: mesos.EventOffers, Offers: &mesos.OffersEvent{Offers: list}})
		m.metrics.offersSent.Add(float64(len(list)))
	}
}

func (m *Master) wireOffer(o *offer, a *agent) mesos.Offer {
	host, port := pidAddr(a.pid)
	return mesos.Offer{
		ID:          mesos.ID{Value: o.id},
		FrameworkID: mesos.ID{Value: o.frameworkID},
		AgentID:     mesos.ID{Value: o.agentID},
		Hostname:    a.info.Hostname,
		URL: &mesos.URL{
			Scheme:  "http",
			Address: mesos.Address{Hostname: a.info.Hostname, IP: host, Port: int32(port)},
			Path:    "/slave(1)",
		},
		Resources:      o.resources,
		Attributes:     a.info.Attributes,
		AllocationInfo: &mesos.AllocationInfo{Role: o.role},
	}
}

// removeOffer forgets an outstanding offer; with recover its resources go back to the
// allocator.
func (m *Master) removeOffer(st *leaderState, o *offer, recover bool) {
	delete(st.offers, o.id)
	if f := st.frameworks[o.frameworkID]; f != nil {
		delete(f.offers, o.id)
	}
	a := st.agents[o.agentID]
	if a != nil {
		delete(a.offers, o.id)
	}
	if recover && a != nil && a.inAllocator() {
		st.alloc.Recover(o.agentID, o.frameworkID, o.resources)
	}
}

// rescind withdraws an offer from its framework (RESCIND) and recovers its resources.
func (m *Master) rescind(st *leaderState, o *offer, recover bool) {
	m.removeOffer(st, o, recover)
	if f := st.frameworks[o.frameworkID]; f != nil && f.conn != nil {
		f.conn.send(mesos.Event{Type: mesos.EventRescind, Rescind: &mesos.Rescind{OfferID: mesos.ID{Value: o.id}}})
	}
	m.metrics.offersRescinded.Inc()
}

// removeAgentOffers rescinds every offer of an agent.
func (m *Master) removeAgentOffers(st *leaderState, a *agent, recover bool) {
	for _, o := range a.offers {
		m.rescind(st, o, recover)
	}
	if recover {
		m.triggerAllocation(st)
	}
}

// clearFrameworkOffers drops a framework's outstanding offers (it is gone or failing over: no
// RESCIND is sent) and recovers their resources.
func (m *Master) clearFrameworkOffers(st *leaderState, f *framework) {
	for _, o := range f.offers {
		m.removeOffer(st, o, true)
	}
	m.triggerAllocation(st)
}

// checkOffers rescinds offers outstanding for longer than the offer timeout.
func (m *Master) checkOffers(st *leaderState, mono time.Time) {
	if m.cfg.OfferTimeout <= 0 {
		return
	}
	n := 0
	for _, o := range st.offers {
		if mono.Sub(o.created) >= m.cfg.OfferTimeout {
			m.rescind(st, o, true)
			n++
		}
	}
	if n > 0 {
		m.triggerAllocation(st)
	}
}

// refuseDuration returns the duration of a filter, Mesos' default 5s when unset or invalid.
func refuseDuration(f *mesos.Filters) time.Duration {
	s := f.Refuse()
	if math.IsNaN(s) || s < 0 {
		s = mesos.DefaultRefuseSeconds
	}
	const maxRefuse = 365 * 24 * time.Hour
	if s >= maxRefuse.Seconds() {
		return maxRefuse
	}
	return time.Duration(s * float64(time.Second))
}

// filter stops offers of the agent to the framework in role for d, and wakes the allocator when the
// filter expires.
func (m *Master) filter(st *leaderState, f *framework, role, agentID string, d time.Duration, now time.Time) {
	if d <= 0 {
		return
	}
	st.alloc.Filter(f.id, role, agentID, now.Add(d))
	// Wake up no earlier than the filter expires (rounded up to batch nearby expiries).
	const grain = 10 * time.Millisecond
	m.wakeAt(st, time.Now().Add(d).Truncate(grain).Add(grain))
}

// decline returns offers unused, filtered for refuse_seconds (5s by default). Offers that are
// unknown or not the framework's are ignored, as in Mesos.
func (m *Master) decline(st *leaderState, f *framework, d *mesos.Decline, now time.Time) {
	refuse := refuseDuration(d.Filters)
	for _, id := range d.OfferIDs {
		o := st.offers[id.Value]
		if o == nil || o.frameworkID != f.id {
			m.log.Debug("declined offer is not outstanding", "framework_id", f.id, "offer_id", id.Value)
			continue
		}
		m.removeOffer(st, o, true)
		m.filter(st, f, o.role, o.agentID, refuse, now)
	}
	m.triggerAllocation(st)
}
