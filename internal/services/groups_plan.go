package services

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// This file is pure: from the apps before and after a change, and what they depend on, it
// plans a deployment's steps as Marathon does:
//
//  1. stop the apps that go, dependents first (one step per dependency level);
//  2. start the new apps, all in one step, with no instance yet;
//  3. per dependency level of the target, lowest first: scale new apps and apps whose
//     instance count alone changed, restart the apps whose configuration changed.
//
// An app waits for the step before its own (held), so it starts only once the apps it depends
// on run at their goal, and healthy when they have health checks.

// appDeps maps an app id to the ids of the apps it depends on.
type appDeps map[string][]string

// dependencyGraph resolves what every app depends on: its own dependencies and those of the
// groups around it, each an app or every app of a group. Dependencies that name nothing are
// ignored, as Marathon does.
func dependencyGraph(apps map[string]*marathon.App, groups map[string][]string) appDeps {
	var ids []string // every app id, sorted once an app has dependencies
	g := appDeps{}
	for id, a := range apps {
		refs := slices.Clone(a.Dependencies)
		for p := marathon.ParentPath(id); len(groups) > 0; p = marathon.ParentPath(p) {
			refs = append(refs, groups[p]...)
			if p == "/" {
				break
			}
		}
		if len(refs) == 0 {
			continue
		}
		if ids == nil {
			ids = slices.Sorted(maps.Keys(apps))
		}
		var deps []string
		for _, ref := range refs {
			ref, _ = marathon.CanonicalPath(ref, marathon.ParentPath(id))
			for _, other := range ids {
				if other != id && (other == ref || marathon.IsChildPath(other, ref)) && !slices.Contains(deps, other) {
					deps = append(deps, other)
				}
			}
		}
		if len(deps) > 0 {
			slices.Sort(deps)
			g[id] = deps
		}
	}
	return g
}

// errCycle is the answer to a change whose dependencies form a cycle.
func errCycle(cycle []string) error {
	return &apiError{Status: http.StatusUnprocessableEntity, Body: marathon.ValidationError{
		Message: marathon.MsgInvalidObject,
		Details: []marathon.ErrorDetail{{Path: "/", Errors: []string{fmt.Sprintf("Dependency graph has cyclic dependencies: %v", cycle)}}},
	}}
}

// levels returns every app's dependency level: 0 for an app that depends on none, else one
// more than the highest level among its dependencies. A cycle is an error naming it.
func levels(ids []string, g appDeps) (map[string]int, error) {
	level := map[string]int{}
	const visiting = -1
	var path []string
	var visit func(id string) error
	visit = func(id string) error {
		switch l, seen := level[id]; {
		case seen && l == visiting:
			i := slices.Index(path, id)
			return errCycle(append(slices.Clone(path[i:]), id))
		case seen:
			return nil
		}
		level[id] = visiting
		path = append(path, id)
		l := 0
		for _, d := range g[id] {
			if err := visit(d); err != nil {
				return err
			}
			l = max(l, level[d]+1)
		}
		path = path[:len(path)-1]
		level[id] = l
		return nil
	}
	for _, id := range ids {
		if err := visit(id); err != nil {
			return nil, err
		}
	}
	return level, nil
}

// planSteps plans the steps from one state of the changed apps to another: from and to map
// the id of every changed app to its definition before and after (nil: absent). before and
// after are the dependency graphs of the whole states; a cycle in after is an error.
func planSteps(from, to map[string]*marathon.App, before, after appDeps) ([][]action, error) {
	ids := slices.Sorted(maps.Keys(to))
	for id := range from {
		if _, ok := to[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	toLevel, err := levels(slices.Sorted(maps.Keys(after)), after)
	if err != nil {
		return nil, err
	}
	fromLevel, err := levels(slices.Sorted(maps.Keys(before)), before)
	if err != nil {
		fromLevel = map[string]int{} // a cycle before: stop in any order
	}
	var stops, starts []action
	byLevel := map[int][]action{}
	for _, id := range ids {
		old, spec := from[id], to[id]
		switch {
		case old == nil && spec == nil:
		case spec == nil:
			stops = append(stops, action{actionStop, id})
		case old == nil:
			starts = append(starts, action{actionStart, id})
			if instancesOf(spec) > 0 {
				byLevel[toLevel[id]] = append(byLevel[toLevel[id]], action{actionScale, id})
			}
		case !sameConfig(old, spec):
			byLevel[toLevel[id]] = append(byLevel[toLevel[id]], action{actionRestart, id})
		case instancesOf(old) != instancesOf(spec):
			byLevel[toLevel[id]] = append(byLevel[toLevel[id]], action{actionScale, id})
		}
	}
	var steps [][]action
	// Dependents stop first: the highest level of the state before goes first.
	slices.SortStableFunc(stops, func(a, b action) int { return cmp.Compare(fromLevel[b.App], fromLevel[a.App]) })
	for i := 0; i < len(stops); {
		j := i + 1
		for j < len(stops) && fromLevel[stops[j].App] == fromLevel[stops[i].App] {
			j++
		}
		steps = append(steps, stops[i:j])
		i = j
	}
	if len(starts) > 0 {
		steps = append(steps, starts)
	}
	for _, l := range slices.Sorted(maps.Keys(byLevel)) {
		steps = append(steps, byLevel[l])
	}
	return steps, nil
}

// scaledBy returns an app's instance count multiplied by factor, rounded up as Marathon does
// (at most math.MaxInt32).
func scaledBy(instances int, factor float64) int {
	return int(min(math.Ceil(float64(instances)*factor-1e-9), math.MaxInt32))
}

func instancesOf(s *marathon.App) int {
	if s.Instances == nil {
		return 1
	}
	return *s.Instances
}
