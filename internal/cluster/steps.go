package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Step is one named step of bringing a cluster up.
type Step struct {
	Name string
	Run  func(ctx context.Context) error
	// Undo reverses what Run did, in a rollback; nil when there is nothing to undo. It runs for
	// a step that failed too (Run may have done part of its work), so it must cope with a
	// partial Run.
	Undo func(ctx context.Context) error
}

// StepError says which step failed and why.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("step %q failed: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Runner runs steps in order and rolls them back when one fails.
type Runner struct {
	Progress Progress
	// Retain keeps what the steps made when one fails, for a post mortem.
	Retain bool
	// OnFailure, when set, runs after a step failed and before the rollback (while logs and
	// state still exist).
	OnFailure func(*StepError)
	// RollbackTimeout bounds the rollback; default 30s.
	RollbackTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Run runs steps in order, reporting each to r.Progress. When a step fails (ctx cancelled
// included), it returns a *StepError and, unless r.Retain, undoes the steps that ran, the
// failed one first, in reverse order, under a context that is not cancelled with ctx. Rollback
// errors are joined to the returned error.
func (r *Runner) Run(ctx context.Context, steps []Step) error {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	p := r.Progress
	if p == nil {
		p = NopProgress{}
	}
	for i, s := range steps {
		start := now()
		p.Start(s.Name)
		err := ctx.Err()
		if err == nil {
			err = s.Run(ctx)
		}
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		p.Done(s.Name, now().Sub(start), err)
		if err == nil {
			continue
		}
		serr := &StepError{Step: s.Name, Err: err}
		if r.OnFailure != nil {
			r.OnFailure(serr)
		}
		if r.Retain {
			p.Note("left everything in place (--retain)")
			return serr
		}
		return errors.Join(serr, r.rollback(ctx, steps[:i+1], p))
	}
	return nil
}

func (r *Runner) rollback(ctx context.Context, done []Step, p Progress) error {
	timeout := r.RollbackTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	now := r.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	p.Start("roll back")
	var errs []error
	for i := len(done) - 1; i >= 0; i-- {
		if done[i].Undo == nil {
			continue
		}
		if err := done[i].Undo(ctx); err != nil {
			errs = append(errs, fmt.Errorf("roll back %q: %w", done[i].Name, err))
		}
	}
	err := errors.Join(errs...)
	p.Done("roll back", now().Sub(start), err)
	return err
}
