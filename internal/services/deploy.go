package services

import (
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// Each change of an app is a deployment of one or more steps, one action each:
//
//	create   StartApplication, then ScaleApplication (when instances > 0)
//	scale    ScaleApplication        (only instances changed)
//	update   RestartApplication      (any other change, or POST .../restart)
//	delete   StopApplication
//
// A step is done when the app has exactly its instances RUNNING at its configuration version
// and nothing else (StopApplication: when no instance is left). The app is locked while its
// deployment runs.

func (d *deployment) steps() []marathon.DeploymentStep {
	out := make([]marathon.DeploymentStep, len(d.Steps))
	for i, a := range d.Steps {
		out[i] = marathon.DeploymentStep{Actions: []marathon.DeploymentAction{{Action: a, App: d.AppID}}}
	}
	return out
}

// info returns the deployment as GET /v2/deployments shows it.
func (d *deployment) info() marathon.Deployment {
	cur := []marathon.DeploymentActionInfo{}
	if a := d.action(); a != "" {
		cur = append(cur, marathon.DeploymentActionInfo{Action: a, App: d.AppID, ReadinessCheckResults: []marathon.TaskReadinessCheckResult{}})
	}
	return marathon.Deployment{
		ID:             d.ID,
		Version:        d.Version,
		AffectedApps:   []string{d.AppID},
		AffectedPods:   []string{},
		Steps:          d.steps(),
		CurrentActions: cur,
		CurrentStep:    min(d.CurrentStep, len(d.Steps)),
		TotalSteps:     len(d.Steps),
	}
}

func (d *deployment) result() marathon.DeploymentResult {
	return marathon.DeploymentResult{DeploymentID: d.ID, Version: d.Version}
}

func (d *deployment) plan() marathon.DeploymentPlan {
	p := marathon.DeploymentPlan{
		ID:       d.ID,
		Original: &marathon.Group{ID: "/", Apps: []*marathon.App{}},
		Target:   &marathon.Group{ID: "/", Apps: []*marathon.App{}, Version: d.Version},
		Steps:    d.steps(),
		Version:  d.Version,
	}
	if d.Original != nil {
		p.Original.Apps = append(p.Original.Apps, d.Original)
	}
	if d.Target != nil {
		p.Target.Apps = append(p.Target.Apps, d.Target)
	}
	return p
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
	if d.CurrentStep >= 1 && d.CurrentStep <= len(d.Steps) {
		e.CurrentStep = d.steps()[d.CurrentStep-1]
	}
	return newEvent(typ, e)
}

// startDeployment records a deployment of an app, cancelling (as failed) the one it replaces.
// l.mu must be held.
func (l *leader) startDeployment(appID string, steps []string, original, target *marathon.App, version string, now time.Time, o *ops) *deployment {
	if old := l.deployOf[appID]; old != nil {
		l.endDeployment(old, evDeploymentFail, now, o)
	}
	d := &deployment{
		ID:          newUUID(),
		Version:     version,
		AppID:       appID,
		Steps:       steps,
		CurrentStep: 1,
		Original:    stripped(original),
		Target:      stripped(target),
		Started:     now,
	}
	l.deployments[d.ID] = d
	l.deployOf[appID] = d
	if a := l.apps[appID]; a != nil {
		a.invalidate()
	}
	o.putDeployment(d)
	o.emit(d.event(evDeploymentInfo, now))
	l.s.metrics.deployments.Inc()
	return d
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

// endDeployment forgets a deployment, announcing how it ended. l.mu must be held.
func (l *leader) endDeployment(d *deployment, how string, now time.Time, o *ops) {
	delete(l.deployments, d.ID)
	if l.deployOf[d.AppID] == d {
		delete(l.deployOf, d.AppID)
	}
	if a := l.apps[d.AppID]; a != nil {
		a.invalidate()
	}
	o.delDeployment(d)
	o.emit(d.event(how, now))
}

// advanceDeployment completes the steps of the app's deployment that are done. l.mu must be held.
func (l *leader) advanceDeployment(appID string, now time.Time, o *ops) {
	d := l.deployOf[appID]
	if d == nil {
		return
	}
	for l.stepDone(d) {
		o.emit(d.event(evDeploymentStep, now))
		d.CurrentStep++
		if d.CurrentStep > len(d.Steps) {
			l.endDeployment(d, evDeploymentOK, now, o)
			if d.Target == nil {
				o.emit(newEvent(evAppTerminated, marathon.AppTerminatedEvent{EventMeta: marathon.EventMeta{EventType: evAppTerminated, Timestamp: timestamp(now)}, AppID: appID}))
			}
			return
		}
		o.putDeployment(d)
		o.emit(d.event(evDeploymentInfo, now))
		if a := l.apps[appID]; a != nil {
			a.invalidate()
		}
	}
}

// stepDone reports whether the current step of d is complete. l.mu must be held.
func (l *leader) stepDone(d *deployment) bool {
	switch d.action() {
	case actionStart:
		return l.apps[d.AppID] != nil
	case actionStop:
		return len(l.byApp[d.AppID]) == 0
	case actionScale, actionRestart:
		a := l.apps[d.AppID]
		if a == nil {
			return false
		}
		cfg := a.configVersion()
		checked := len(a.spec.HealthChecks) > 0
		n := 0
		for _, in := range l.byApp[d.AppID] {
			if in.Kill || in.ConfigVersion != cfg || !in.healthy(checked) {
				return false
			}
			n++
		}
		return n == a.instances()
	}
	return false
}
