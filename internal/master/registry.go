package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/coord"
)

// The registry: what a new leader cannot rebuild from agents, persisted in etcd.
const (
	agentsPrefix     = "/marina/master/agents/"
	frameworksPrefix = "/marina/master/frameworks/"
)

// maxTxnOps keeps a batch under etcd's default limit of 128 operations per transaction.
const maxTxnOps = 100

// agentRecord is an agent's registry entry.
type agentRecord struct {
	Info            mesos.AgentInfo `json:"info"`
	PID             string          `json:"pid,omitempty"`
	Version         string          `json:"version,omitempty"`
	RegisteredTime  float64         `json:"registered_time,omitempty"`
	UnreachableTime *mesos.TimeInfo `json:"unreachable_time,omitempty"`
	Deactivated     bool            `json:"deactivated,omitempty"`
	DrainInfo       *drainInfo      `json:"drain_info,omitempty"`
}

// frameworkRecord is a framework's registry entry; its failover timeout is in Info.
type frameworkRecord struct {
	Info           mesos.FrameworkInfo `json:"info"`
	PID            string              `json:"pid,omitempty"`
	RegisteredTime float64             `json:"registered_time,omitempty"`
}

// loadState reads the registry and builds a new term's state from it: agents await
// re-registration (or stay unreachable), frameworks await re-subscription.
func (m *Master) loadState(term coord.Term) (*leaderState, error) {
	var agents, frameworks map[string][]byte
	backoff := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(term.Ctx, 5*time.Second)
		var err error
		agents, err = coord.List(ctx, m.cfg.Etcd, agentsPrefix)
		if err == nil {
			frameworks, err = coord.List(ctx, m.cfg.Etcd, frameworksPrefix)
		}
		cancel()
		if err == nil {
			break
		}
		if term.Ctx.Err() != nil {
			return nil, term.Ctx.Err()
		}
		m.log.Warn("read registry", "err", err)
		select {
		case <-term.Ctx.Done():
			return nil, term.Ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}

	now := m.now()
	st := newLeaderState(term, now, newAllocator(m.cfg))
	st.persist = newPersister(term, m.log)
	for id, b := range agents {
		var rec agentRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			m.log.Warn("skipping bad agent record", "agent_id", id, "err", err)
			continue
		}
		a := newAgent(id)
		a.info = rec.Info
		a.info.ID = &mesos.ID{Value: id}
		a.pid, a.version = rec.PID, rec.Version
		a.registeredTime = fromSeconds(rec.RegisteredTime)
		a.deactivated, a.drain = rec.Deactivated, rec.DrainInfo
		if rec.UnreachableTime != nil {
			a.unreachable = true
			a.unreachableTime = time.Unix(0, rec.UnreachableTime.Nanoseconds)
		} else {
			a.recovered = true
			st.recovering++
		}
		st.agents[id] = a
	}
	for id, b := range frameworks {
		var rec frameworkRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			m.log.Warn("skipping bad framework record", "framework_id", id, "err", err)
			continue
		}
		f := newFramework(id, rec.Info)
		if rec.PID != "" {
			f.pid = rec.PID
		}
		f.recovered = true
		f.registeredTime = fromSeconds(rec.RegisteredTime)
		f.disconnectedAt = now
		st.frameworks[id] = f
		st.alloc.AddFramework(id, f.info.EffectiveRoles(), nil)
		st.alloc.DeactivateFramework(id)
	}
	return st, nil
}

func fromSeconds(s float64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s*1e9))
}

// persistAgent queues a's registry entry for writing.
func (st *leaderState) persistAgent(a *agent) {
	rec := agentRecord{Info: a.info, PID: a.pid, Version: a.version, RegisteredTime: seconds(a.registeredTime),
		Deactivated: a.deactivated, DrainInfo: a.drain.clone()}
	if a.unreachable {
		rec.UnreachableTime = &mesos.TimeInfo{Nanoseconds: a.unreachableTime.UnixNano()}
	}
	st.persist.put(agentsPrefix+a.id, rec)
}

// persistFramework queues f's registry entry for writing.
func (st *leaderState) persistFramework(f *framework) {
	st.persist.put(frameworksPrefix+f.id, frameworkRecord{Info: f.info, PID: f.pid, RegisteredTime: seconds(f.registeredTime)})
}

func (st *leaderState) forgetFramework(id string) { st.persist.del(frameworksPrefix + id) }

// persister writes registry changes in batches through the term's fenced transactions: a
// deposed leader's writes fail. Later changes of a key replace earlier unwritten ones.
type persister struct {
	term    coord.Term
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string]*string // nil: delete
	kick    chan struct{}
	writing bool
}

func newPersister(term coord.Term, log *slog.Logger) *persister {
	return &persister{term: term, log: log, pending: map[string]*string{}, kick: make(chan struct{}, 1)}
}

func (p *persister) put(key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		p.log.Error("encode registry entry", "key", key, "err", err)
		return
	}
	s := string(b)
	p.set(key, &s)
}

func (p *persister) del(key string) { p.set(key, nil) }

func (p *persister) set(key string, v *string) {
	p.mu.Lock()
	p.pending[key] = v
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// pendingWrites reports how many changes are not written yet (tests wait for 0).
func (p *persister) pendingWrites() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.pending)
	if p.writing {
		n++
	}
	return n
}

// run writes changes as they come until ctx ends, then makes a last attempt to write what is
// left (still fenced: it fails once another master leads).
func (p *persister) run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if err := p.flush(fctx); err != nil {
				p.log.Debug("final registry flush", "err", err)
			}
			cancel()
			return
		case <-p.kick:
		}
		if err := p.flush(ctx); err != nil {
			if ctx.Err() != nil {
				continue // the final flush retries
			}
			if errors.Is(err, coord.ErrNotLeader) {
				p.log.Warn("registry write refused; no longer leading", "err", err)
				continue
			}
			p.log.Warn("registry write failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			select {
			case p.kick <- struct{}{}:
			default:
			}
			continue
		}
		backoff = 50 * time.Millisecond
	}
}

// flush writes every pending change, maxTxnOps per transaction. Changes that fail to be written
// are put back unless a newer change of the same key arrived meanwhile.
func (p *persister) flush(ctx context.Context) error {
	p.mu.Lock()
	batch := p.pending
	p.pending = map[string]*string{}
	p.writing = len(batch) > 0
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.writing = false
		p.mu.Unlock()
	}()
	ops := make([]clientv3.Op, 0, min(len(batch), maxTxnOps))
	keys := make([]string, 0, cap(ops))
	var err error
	write := func() {
		if len(ops) == 0 || err != nil {
			return
		}
		if e := p.term.Do(ctx, ops...); e != nil {
			err = fmt.Errorf("registry: %w", e)
			return
		}
		for _, k := range keys {
			delete(batch, k)
		}
		ops, keys = ops[:0], keys[:0]
	}
	for k, v := range batch {
		if v == nil {
			ops = append(ops, clientv3.OpDelete(k))
		} else {
			ops = append(ops, clientv3.OpPut(k, *v))
		}
		keys = append(keys, k)
		if len(ops) == maxTxnOps {
			write()
		}
	}
	write()
	if err != nil {
		p.mu.Lock()
		for k, v := range batch {
			if _, newer := p.pending[k]; !newer {
				p.pending[k] = v
			}
		}
		p.mu.Unlock()
	}
	return err
}
