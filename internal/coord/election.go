package coord

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ErrNotLeader is returned by a Term's writes once its holder no longer leads.
var ErrNotLeader = errors.New("coord: not the leader")

// ElectorConfig configures an Elector.
type ElectorConfig struct {
	Prefix string        // election key prefix, e.g. /marina/master/leader
	Value  string        // what this candidate publishes while it leads (its URL)
	TTL    time.Duration // session TTL: how long a dead leader holds on; default 2s
	// LeaderDead, when set, lets a candidate that waits shorten a failover: it is asked about the
	// current leader's value a few times a second, and once it answers true twice in a row the
	// leader's lease is revoked. It must answer true only when the leader is certainly gone (its
	// address refuses connections), never on a mere timeout, which a partition also causes.
	LeaderDead func(ctx context.Context, leader string) bool
	Logger     *slog.Logger
}

// Elector campaigns for a role's leadership and tracks who leads.
type Elector struct {
	cli    *clientv3.Client
	cfg    ElectorConfig
	log    *slog.Logger
	leader atomic.Pointer[string]
	wg     sync.WaitGroup
}

// Term is one tenure of leadership. Ctx is cancelled as soon as leadership is lost.
type Term struct {
	Ctx context.Context
	key string
	rev int64
	cli *clientv3.Client
}

// NewElector returns an Elector; nothing happens until Run or Observe.
func NewElector(cli *clientv3.Client, cfg ElectorConfig) *Elector {
	if cfg.TTL <= 0 {
		cfg.TTL = 2 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	e := &Elector{cli: cli, cfg: cfg, log: log}
	empty := ""
	e.leader.Store(&empty)
	return e
}

// Leader returns the value published by the current leader, or "" when none is known. It is kept
// current by Observe.
func (e *Elector) Leader() string { return *e.leader.Load() }

// Observe keeps Leader current until ctx ends. It returns at once; the watch runs in the background
// and ends with ctx.
func (e *Elector) Observe(ctx context.Context) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for ctx.Err() == nil {
			rev, err := e.refreshLeader(ctx)
			if err == nil {
				wch := e.cli.Watch(ctx, e.cfg.Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
				for wr := range wch {
					if wr.Err() != nil {
						break
					}
					if _, err := e.refreshLeader(ctx); err != nil {
						break
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
}

func (e *Elector) refreshLeader(ctx context.Context) (int64, error) {
	kv, rev, err := e.currentLeader(ctx)
	if err != nil {
		return 0, err
	}
	v := ""
	if kv != nil {
		v = string(kv.Value)
	}
	e.leader.Store(&v)
	return rev, nil
}

func (e *Elector) currentLeader(ctx context.Context) (*leaderKV, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	resp, err := e.cli.Get(ctx, e.cfg.Prefix, clientv3.WithFirstCreate()...)
	if err != nil {
		return nil, 0, err
	}
	if len(resp.Kvs) == 0 {
		return nil, resp.Header.Revision, nil
	}
	kv := resp.Kvs[0]
	return &leaderKV{Value: kv.Value, Lease: kv.Lease}, resp.Header.Revision, nil
}

type leaderKV struct {
	Value []byte
	Lease int64
}

// Run campaigns until ctx ends. Each time it wins it calls lead with a Term and waits for lead to
// return, which lead must do once term.Ctx is done. On ctx's end a leader resigns at once, so a
// graceful stop hands over without waiting for the TTL.
func (e *Elector) Run(ctx context.Context, lead func(Term)) {
	e.wg.Add(1)
	defer e.wg.Done()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := e.runOnce(ctx, lead); err != nil && ctx.Err() == nil {
			e.log.Warn("election round failed", "prefix", e.cfg.Prefix, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
}

func (e *Elector) runOnce(ctx context.Context, lead func(Term)) error {
	ttl := int((e.cfg.TTL + time.Second - 1) / time.Second)
	sess, err := concurrency.NewSession(e.cli, concurrency.WithTTL(ttl), concurrency.WithContext(ctx))
	if err != nil {
		return err
	}
	defer sess.Close()
	el := concurrency.NewElection(sess, e.cfg.Prefix)

	cctx, cancel := context.WithCancel(ctx)
	var probes sync.WaitGroup
	if e.cfg.LeaderDead != nil {
		probes.Add(1)
		go func() {
			defer probes.Done()
			e.probeLeader(cctx)
		}()
	}
	err = el.Campaign(cctx, e.cfg.Value)
	cancel()
	probes.Wait()
	if err != nil {
		return err
	}

	e.log.Info("elected leader", "prefix", e.cfg.Prefix, "value", e.cfg.Value)
	v := e.cfg.Value
	e.leader.Store(&v)
	tctx, tcancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-sess.Done():
			e.log.Warn("lost etcd session; stepping down", "prefix", e.cfg.Prefix)
		case <-tctx.Done():
		}
		tcancel()
	}()
	lead(Term{Ctx: tctx, key: el.Key(), rev: el.Rev(), cli: e.cli})
	tcancel()
	rctx, rcancel := context.WithTimeout(context.Background(), time.Second)
	defer rcancel()
	if err := el.Resign(rctx); err != nil {
		e.log.Debug("resign", "err", err)
	}
	e.log.Info("leadership ended", "prefix", e.cfg.Prefix)
	return nil
}

// probeLeader revokes the lease of a leader that LeaderDead says is gone.
func (e *Elector) probeLeader(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	dead := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		kv, _, err := e.currentLeader(ctx)
		if err != nil || kv == nil || string(kv.Value) == e.cfg.Value {
			dead = 0
			continue
		}
		if !e.cfg.LeaderDead(ctx, string(kv.Value)) {
			dead = 0
			continue
		}
		if dead++; dead < 2 {
			continue
		}
		e.log.Warn("leader is gone; revoking its lease", "prefix", e.cfg.Prefix, "leader", string(kv.Value))
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = e.cli.Revoke(rctx, clientv3.LeaseID(kv.Lease))
		cancel()
		if err != nil {
			e.log.Debug("revoke dead leader's lease", "err", err)
		}
		dead = 0
	}
}

// Wait waits for Observe's and Run's goroutines to end (after their contexts ended).
func (e *Elector) Wait() { e.wg.Wait() }

// Put writes key only while the term's holder still leads.
func (t Term) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) error {
	return t.Do(ctx, clientv3.OpPut(key, val, opts...))
}

// Delete deletes key (or a prefix, with clientv3.WithPrefix) only while the term's holder leads.
func (t Term) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) error {
	return t.Do(ctx, clientv3.OpDelete(key, opts...))
}

// Do applies ops in one transaction, only while the term's holder still leads.
func (t Term) Do(ctx context.Context, ops ...clientv3.Op) error {
	resp, err := t.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)).
		Then(ops...).
		Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return ErrNotLeader
	}
	return nil
}
