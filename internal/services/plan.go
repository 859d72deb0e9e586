package services

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// This file is pure: from an app's wanted state and its instances, it decides how many
// instances to launch and which to kill. It is evaluated again after every change, so a new
// leader simply carries on where the last one stopped.

// goal is what plan needs of an app.
type goal struct {
	Instances     int
	Config        string  // configuration version instances must run
	MinHealth     float64 // upgradeStrategy.minimumHealthCapacity
	MaxOver       float64 // upgradeStrategy.maximumOverCapacity
	KillSelection string
	InactiveAfter time.Duration // unreachable this long: replaced
	Checked       bool          // the app has health checks: serving means reported healthy
	Readiness     bool          // the app has readiness checks: new instances serve once ready
}

// goalOf returns the goal of an app definition (defaults applied).
func goalOf(s *marathon.App) goal {
	g := goal{Instances: 1, Config: configVersion(s), MinHealth: 1, MaxOver: 1, KillSelection: s.KillSelection, Checked: len(s.HealthChecks) > 0, Readiness: len(s.ReadinessChecks) > 0}
	if s.Instances != nil {
		g.Instances = *s.Instances
	}
	if u := s.UpgradeStrategy; u != nil {
		if u.MinimumHealthCapacity != nil {
			g.MinHealth = *u.MinimumHealthCapacity
		}
		if u.MaximumOverCapacity != nil {
			g.MaxOver = *u.MaximumOverCapacity
		}
	}
	if u := s.UnreachableStrategy; u != nil && !u.Disabled {
		g.InactiveAfter = time.Duration(u.InactiveAfterSeconds) * time.Second
	} else if u != nil && u.Disabled {
		g.InactiveAfter = time.Duration(math.MaxInt64)
	}
	return g
}

// counts reports whether an instance counts toward its app at now: it is not being killed and
// not unreachable for longer than the app tolerates.
func counts(in *instance, g goal, now time.Time) bool {
	if in.Kill || in.State.Terminal() {
		return false
	}
	return in.Unreachable.IsZero() || now.Sub(in.Unreachable) < g.InactiveAfter
}

// plan returns how many instances to launch and which to kill so that the app converges on its
// goal. Without outdated instances it scales; with them it restarts within the upgrade
// strategy: at least ceil(n*minimumHealthCapacity) healthy instances and at most
// n*(1+maximumOverCapacity) instances at any time (one more when both bounds are equal, or
// nothing could move).
func plan(g goal, insts []*instance, now time.Time) (launch int, kill []*instance) {
	var current, old []*instance
	for _, in := range insts {
		if !counts(in, g, now) {
			continue
		}
		if in.ConfigVersion == g.Config {
			current = append(current, in)
		} else {
			old = append(old, in)
		}
	}
	n := g.Instances
	if len(old) == 0 {
		if d := n - len(current); d > 0 {
			return d, nil
		}
		return 0, killOrder(current, g)[:len(current)-n]
	}

	// A restart. Too many new instances (the goal shrank meanwhile): drop the surplus first.
	if len(current) > n {
		kill = killOrder(current, g)[:len(current)-n]
		current = current[:0:0]
		for _, in := range insts {
			if counts(in, g, now) && in.ConfigVersion == g.Config && !slices.Contains(kill, in) {
				current = append(current, in)
			}
		}
	}
	minHealthy := int(math.Ceil(float64(n)*g.MinHealth - 1e-9))
	maxCapacity := int(math.Floor(float64(n)*(1+g.MaxOver) + 1e-9))
	if maxCapacity <= minHealthy && n > 0 {
		maxCapacity = minHealthy + 1
	}
	healthy := 0
	for _, in := range slices.Concat(current, old) {
		if in.serving(g) {
			healthy++
		}
	}
	// Old instances that do not serve go at once; serving ones while enough others serve.
	ordered := killOrder(old, g)
	alive := len(current) + len(old)
	for _, in := range ordered {
		if in.serving(g) {
			if healthy-1 < minHealthy {
				continue
			}
			healthy--
		}
		kill = append(kill, in)
		alive--
	}
	launch = max(0, min(n-len(current), maxCapacity-alive))
	return launch, kill
}

// killOrder sorts instances in the order they should go: those that do not serve first, then
// by the app's killSelection (youngest first by default).
func killOrder(insts []*instance, g goal) []*instance {
	out := slices.Clone(insts)
	started := func(in *instance) time.Time {
		if !in.StartedAt.IsZero() {
			return in.StartedAt
		}
		return in.StagedAt
	}
	slices.SortStableFunc(out, func(a, b *instance) int {
		if ah, bh := a.serving(g), b.serving(g); ah != bh {
			if ah {
				return 1
			}
			return -1
		}
		c := started(a).Compare(started(b))
		if g.KillSelection != marathon.KillOldestFirst {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.TaskID, b.TaskID))
	})
	return out
}
