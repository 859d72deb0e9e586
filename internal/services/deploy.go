package services

import (
	"maps"
	"slices"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// A change of apps is a deployment of ordered steps, each a set of actions on apps, planned by
// planSteps (groups_plan.go):
//
//	create   StartApplication, then ScaleApplication (when instances > 0)
//	scale    ScaleApplication        (only instances changed)
//	update   RestartApplication      (any other change, or POST .../restart)
//	delete   StopApplication
//
// An action is done when its app has exactly its instances RUNNING (healthy, with health
// checks; ready, with readiness checks) at its configuration version and nothing else (StopApplication: when no
// instance is left); a step is done when all its actions are. Every app of a deployment is
// locked while it runs, and held (deployment.held) until its step comes.

func (d *deployment) steps() []marathon.DeploymentStep { return stepsOf(d.Plan) }

// stepsOf returns a plan as the API shows it.
func stepsOf(plan [][]action) []marathon.DeploymentStep {
	out := make([]marathon.DeploymentStep, len(plan))
	for i, step := range plan {
		out[i] = marathon.DeploymentStep{Actions: make([]marathon.DeploymentAction, len(step))}
		for j, a := range step {
			out[i].Actions[j] = marathon.DeploymentAction{Action: a.Action, App: a.App}
		}
	}
	return out
}

// info returns the deployment as GET /v2/deployments shows it; readiness returns the
// readiness check results of an app.
func (d *deployment) info(readiness func(appID string) []marathon.TaskReadinessCheckResult) marathon.Deployment {
	cur := []marathon.DeploymentActionInfo{}
	for _, a := range d.actions() {
		cur = append(cur, marathon.DeploymentActionInfo{Action: a.Action, App: a.App, ReadinessCheckResults: readiness(a.App)})
	}
	affected := d.apps()
	if affected == nil {
		affected = []string{}
	}
	return marathon.Deployment{
		ID:             d.ID,
		Version:        d.Version,
		AffectedApps:   affected,
		AffectedPods:   []string{},
		Steps:          d.steps(),
		CurrentActions: cur,
		CurrentStep:    min(d.CurrentStep, len(d.Plan)),
		TotalSteps:     len(d.Plan),
	}
}

func (d *deployment) result() marathon.DeploymentResult {
	return marathon.DeploymentResult{DeploymentID: d.ID, Version: d.Version}
}

func (d *deployment) plan() marathon.DeploymentPlan {
	group := func(apps map[string]*marathon.App, version string) *marathon.Group {
		g := &marathon.Group{ID: "/", Apps: []*marathon.App{}, Version: version}
		for _, id := range slices.Sorted(maps.Keys(apps)) {
			g.Apps = append(g.Apps, apps[id])
		}
		return g
	}
	return marathon.DeploymentPlan{
		ID:       d.ID,
		Original: group(d.Original, ""),
		Target:   group(d.Target, d.Version),
		Steps:    d.steps(),
		Version:  d.Version,
	}
}

// event returns a deployment event: deployment_info and deployment_step_success carry the plan
// and the current step, deployment_success and deployment_failed the id and the plan.
func (d *deployment) event(typ string, now time.Time) event {
	meta := marathon.EventMeta{EventType: typ, Timestamp: timestamp(now)}
	if typ == evDeploymentOK || typ == evDeploymentFail {
		p := d.plan()
		return newEvent(typ, marathon.DeploymentEvent{EventMeta: meta, ID: d.ID, Plan: &p})
	}
	e := marathon.DeploymentStepEvent{EventMeta: meta, Plan: d.plan(), CurrentStep: marathon.DeploymentStep{Actions: []marathon.DeploymentAction{}}}
	if d.CurrentStep >= 1 && d.CurrentStep <= len(d.Plan) {
		e.CurrentStep = d.steps()[d.CurrentStep-1]
	}
	return newEvent(typ, e)
}

// startDeployment records a deployment of the plan's apps from original to target (app id ->
// definition, absent when there is none), cancelling (as failed) the deployments it replaces.
// groupID names the group a /v2/groups change made, "" otherwise. A plan without steps ends at
// once. l.mu must be held; the caller converges the apps.
func (l *leader) startDeployment(plan [][]action, original, target map[string]*marathon.App, groupID, version string, now time.Time, o *ops) *deployment {
	d := &deployment{
		ID:          newUUID(),
		Version:     version,
		GroupID:     groupID,
		Plan:        plan,
		CurrentStep: 1,
		Original:    map[string]*marathon.App{},
		Target:      map[string]*marathon.App{},
		Started:     now,
	}
	var replaced []*deployment
	for _, id := range d.apps() {
		if s := stripped(original[id]); s != nil {
			d.Original[id] = s
		}
		if s := stripped(target[id]); s != nil {
			d.Target[id] = s
		}
		if old := l.deployOf[id]; old != nil && !slices.Contains(replaced, old) {
			replaced = append(replaced, old)
		}
		l.deployOf[id] = d
		if a := l.apps[id]; a != nil {
			a.invalidate()
		}
	}
	l.deployments[d.ID] = d
	for _, old := range replaced {
		l.endDeployment(old, evDeploymentFail, now, o)
	}
	o.putDeployment(d)
	o.emit(d.event(evDeploymentInfo, now))
	l.s.metrics.deployments.Inc()
	if len(plan) == 0 {
		l.endDeployment(d, evDeploymentOK, now, o)
	}
	return d
}

// appSteps returns a plan of one app: one action per step.
func appSteps(appID string, actions ...string) [][]action {
	out := make([][]action, len(actions))
	for i, a := range actions {
		out[i] = []action{{Action: a, App: appID}}
	}
	return out
}

// stripped returns a definition without its read-only fields, its version kept.
func stripped(a *marathon.App) *marathon.App {
	if a == nil {
		return nil
	}
	c := a.ReadOnlyStripped()
	c.Version = a.Version
	if a.VersionInfo != nil {
		vi := *a.VersionInfo
		c.VersionInfo = &vi
	}
	return c
}

// endDeployment forgets a deployment, announcing how it ended, and lets the apps it held go
// on. l.mu must be held.
func (l *leader) endDeployment(d *deployment, how string, now time.Time, o *ops) {
	delete(l.deployments, d.ID)
	o.delDeployment(d)
	o.emit(d.event(how, now))
	if d.GroupID != "" {
		typ := marathon.EventGroupChangeSuccessType
		if how == evDeploymentFail {
			typ = marathon.EventGroupChangeFailedType
		}
		ev := marathon.GroupChangeEvent{EventMeta: marathon.EventMeta{EventType: typ, Timestamp: timestamp(now)}, GroupID: d.GroupID, Version: d.Version}
		if how == evDeploymentFail {
			ev.Reason = "the deployment was cancelled"
		}
		o.emit(newEvent(typ, ev))
	}
	for _, id := range d.apps() {
		if l.deployOf[id] != d {
			continue
		}
		delete(l.deployOf, id)
		l.replan(id, now, o)
	}
}

// advanceDeployment completes the steps of a deployment that are done, and lets the apps of
// the next step move. l.mu must be held.
func (l *leader) advanceDeployment(d *deployment, now time.Time, o *ops) {
	for l.deployments[d.ID] == d && l.stepDone(d) {
		o.emit(d.event(evDeploymentStep, now))
		for _, a := range d.actions() {
			if a.Action == actionStop {
				o.emit(newEvent(evAppTerminated, marathon.AppTerminatedEvent{EventMeta: marathon.EventMeta{EventType: evAppTerminated, Timestamp: timestamp(now)}, AppID: a.App}))
			}
		}
		d.CurrentStep++
		if d.CurrentStep > len(d.Plan) {
			l.endDeployment(d, evDeploymentOK, now, o)
			return
		}
		o.putDeployment(d)
		o.emit(d.event(evDeploymentInfo, now))
		for _, a := range d.actions() {
			l.replan(a.App, now, o)
		}
	}
}

// stepDone reports whether every action of the current step of d is done. l.mu must be held.
func (l *leader) stepDone(d *deployment) bool {
	acts := d.actions()
	if acts == nil {
		return false
	}
	for _, a := range acts {
		if !l.actionDone(a) {
			return false
		}
	}
	return true
}

// actionDone reports whether an action is complete. l.mu must be held.
func (l *leader) actionDone(act action) bool {
	switch act.Action {
	case actionStart:
		return l.apps[act.App] != nil
	case actionStop:
		return len(l.byApp[act.App]) == 0
	case actionScale, actionRestart:
		a := l.apps[act.App]
		if a == nil {
			return false
		}
		g := goalOf(a.spec)
		n := 0
		for _, in := range l.byApp[act.App] {
			if in.Kill || in.ConfigVersion != g.Config || !in.serving(g) {
				return false
			}
			n++
		}
		return n == a.instances()
	}
	return false
}
