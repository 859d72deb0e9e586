package services

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// Changes of apps made through the REST API. Each takes l.mu, changes the state, plans the app
// anew and persists everything in one go before answering.

// newVersion returns a version for a change of an app made at now: the time in Marathon's
// format, later than any version handed out before and than the app's current one.
func (l *leader) newVersion(now time.Time, current string) string {
	t := now.UTC().Truncate(time.Millisecond)
	if t.Compare(l.lastVersion) <= 0 {
		t = l.lastVersion.Add(time.Millisecond)
	}
	if cur, err := time.Parse(time.RFC3339Nano, current); err == nil && !t.After(cur) {
		t = cur.Add(time.Millisecond)
	}
	l.lastVersion = t
	return timestamp(t)
}

// lockedBy returns the error for a change of a locked app unless force is set. l.mu must be held.
func (l *leader) lockedBy(id string, force bool) error {
	d := l.deployOf[id]
	if d == nil || force {
		return nil
	}
	return &apiError{Status: http.StatusConflict, Body: map[string]any{
		"message":     fmt.Sprintf("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/%s'.", d.ID),
		"deployments": []map[string]string{{"id": d.ID}},
	}}
}

// createApp creates an app (spec validated, defaults applied) and starts its deployment.
// post, when set, returns the api_post_event announcing the change, emitted before the
// deployment's events.
func (l *leader) createApp(spec *marathon.App, force bool, post func(*marathon.App) event) (*marathon.App, *deployment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.apps[spec.ID] != nil {
		return nil, nil, &apiError{Status: http.StatusConflict, Body: msg("An app with id [%s] already exists.", spec.ID)}
	}
	if err := l.lockedBy(spec.ID, force); err != nil {
		return nil, nil, err
	}
	now := l.s.now()
	v := l.newVersion(now, "")
	spec.Version = v
	spec.VersionInfo = &marathon.VersionInfo{LastScalingAt: v, LastConfigChangeAt: v}
	l.assignServicePorts(spec, nil)
	o := &ops{}
	if post != nil {
		o.emit(post(spec))
	}
	o.putAppVersion(spec)
	l.apps[spec.ID] = &app{spec: spec, versions: []string{v}}
	steps := []string{actionStart}
	if *spec.Instances > 0 {
		steps = append(steps, actionScale)
	}
	d := l.startDeployment(spec.ID, steps, nil, spec, v, now, o)
	l.converge(spec.ID, now, o)
	if err := l.commitOrResync(o); err != nil {
		return nil, nil, err
	}
	return spec, d, nil
}

// updateApp replaces an app's definition, creating the app if it does not exist: build returns
// the new definition (validated, defaults applied) from the current one (nil when there is
// none). A change of instances alone scales; any other change restarts every instance.
// restoreConfig, when set, is the configuration version the definition had before (a
// rollback), so that instances still running it are kept.
func (l *leader) updateApp(id string, build func(old *marathon.App) (*marathon.App, error), force bool, restoreConfig string, post func(*marathon.App) event) (*deployment, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.apps[id]
	if err := l.lockedBy(id, force); err != nil {
		return nil, false, err
	}
	var current *marathon.App
	if a != nil {
		current = a.spec
	}
	spec, err := build(current)
	if err != nil {
		return nil, false, err
	}
	now := l.s.now()
	o := &ops{}
	if a == nil {
		v := l.newVersion(now, "")
		spec.Version = v
		spec.VersionInfo = &marathon.VersionInfo{LastScalingAt: v, LastConfigChangeAt: v}
		if restoreConfig != "" {
			spec.VersionInfo.LastConfigChangeAt = restoreConfig
		}
		l.assignServicePorts(spec, nil)
		o.putAppVersion(spec)
		l.apps[spec.ID] = &app{spec: spec, versions: []string{v}}
		steps := []string{actionStart}
		if *spec.Instances > 0 {
			steps = append(steps, actionScale)
		}
		if post != nil {
			o.emit(post(spec))
		}
		d := l.startDeployment(spec.ID, steps, nil, spec, v, now, o)
		l.converge(spec.ID, now, o)
		if err := l.commitOrResync(o); err != nil {
			return nil, false, err
		}
		return d, true, nil
	}
	old := a.spec
	v := l.newVersion(now, old.Version)
	l.assignServicePorts(spec, old)
	scaleOnly := sameConfig(old, spec)
	spec.Version = v
	spec.VersionInfo = &marathon.VersionInfo{LastScalingAt: v, LastConfigChangeAt: v}
	action := actionRestart
	switch {
	case scaleOnly:
		spec.VersionInfo.LastConfigChangeAt = configVersion(old)
		action = actionScale
	case restoreConfig != "":
		spec.VersionInfo.LastConfigChangeAt = restoreConfig
	}
	l.setSpec(a, spec, o)
	if post != nil {
		o.emit(post(spec))
	}
	d := l.startDeployment(spec.ID, []string{action}, old, spec, v, now, o)
	if !scaleOnly {
		a.backoff = backoff{}
	}
	l.converge(spec.ID, now, o)
	if err := l.commitOrResync(o); err != nil {
		return nil, false, err
	}
	return d, false, nil
}

// setSpec makes spec the app's current version, forgetting versions beyond maxVersions.
// l.mu must be held.
func (l *leader) setSpec(a *app, spec *marathon.App, o *ops) {
	a.invalidate()
	a.spec = spec
	a.versions = append(a.versions, spec.Version)
	o.putAppVersion(spec)
	for len(a.versions) > maxVersions {
		o.delAppVersion(spec.ID, a.versions[0])
		a.versions = a.versions[1:]
	}
}

// sameConfig reports whether two definitions differ at most in their instance count.
func sameConfig(a, b *marathon.App) bool {
	norm := func(x *marathon.App) []byte {
		c := x.ReadOnlyStripped()
		c.Instances = nil
		out, _ := json.Marshal(c)
		return out
	}
	return string(norm(a)) == string(norm(b))
}

// restartApp replaces every instance of an app with a new one of the same definition.
func (l *leader) restartApp(id string, force bool) (*deployment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.apps[id]
	if a == nil {
		return nil, errAppNotFound(id)
	}
	if err := l.lockedBy(id, force); err != nil {
		return nil, err
	}
	now := l.s.now()
	o := &ops{}
	old := a.spec
	spec := old.Clone()
	v := l.newVersion(now, old.Version)
	spec.Version = v
	spec.VersionInfo = &marathon.VersionInfo{LastScalingAt: v, LastConfigChangeAt: v}
	l.setSpec(a, spec, o)
	a.backoff = backoff{}
	d := l.startDeployment(id, []string{actionRestart}, old, spec, v, now, o)
	l.converge(id, now, o)
	if err := l.commitOrResync(o); err != nil {
		return nil, err
	}
	return d, nil
}

// deleteApp removes an app and kills its instances.
func (l *leader) deleteApp(id string, force bool) (*deployment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.apps[id]
	if a == nil {
		return nil, errAppNotFound(id)
	}
	if err := l.lockedBy(id, force); err != nil {
		return nil, err
	}
	now := l.s.now()
	o := &ops{}
	delete(l.apps, id)
	o.delApp(id)
	d := l.startDeployment(id, []string{actionStop}, a.spec, nil, l.newVersion(now, ""), now, o)
	l.converge(id, now, o)
	if err := l.commitOrResync(o); err != nil {
		return nil, err
	}
	return d, nil
}

// killTasks kills instances. With scale, their apps shrink by as many (one scale deployment per
// app); otherwise they are replaced.
func (l *leader) killTasks(ids []string, scale, force bool) ([]*instance, []*deployment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var killed []*instance
	perApp := map[string]int{}
	for _, id := range ids {
		in := l.instances[id]
		if in == nil {
			return nil, nil, &apiError{Status: http.StatusBadRequest, Body: msg("Invalid task id %s", id)}
		}
		killed = append(killed, in)
		if !in.Kill {
			perApp[in.AppID]++
		}
	}
	if scale {
		for id := range perApp {
			if l.apps[id] != nil {
				if err := l.lockedBy(id, force); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	now := l.s.now()
	o := &ops{}
	for _, in := range killed {
		if !in.Kill {
			in.Kill = true
			o.putInstance(in)
		}
	}
	var deps []*deployment
	apps := make([]string, 0, len(perApp))
	for id := range perApp {
		apps = append(apps, id)
	}
	slices.Sort(apps)
	for _, id := range apps {
		a := l.apps[id]
		if scale && a != nil {
			old := a.spec
			spec := old.Clone()
			spec.Instances = new(max(0, *old.Instances-perApp[id]))
			v := l.newVersion(now, old.Version)
			spec.Version = v
			spec.VersionInfo = &marathon.VersionInfo{LastScalingAt: v, LastConfigChangeAt: configVersion(old)}
			l.setSpec(a, spec, o)
			deps = append(deps, l.startDeployment(id, []string{actionScale}, old, spec, v, now, o))
		}
		l.converge(id, now, o)
	}
	l.poke()
	if err := l.commitOrResync(o); err != nil {
		return nil, nil, err
	}
	return killed, deps, nil
}

// cancelDeployment stops a deployment. With force it only forgets it; otherwise it deploys the
// app as it was before.
func (l *leader) cancelDeployment(id string, force bool) (*deployment, error) {
	l.mu.Lock()
	d := l.deployments[id]
	if d == nil {
		l.mu.Unlock()
		return nil, &apiError{Status: http.StatusNotFound, Body: msg("DeploymentPlan %s does not exist", id)}
	}
	now := l.s.now()
	if force {
		o := &ops{}
		l.endDeployment(d, evDeploymentFail, now, o)
		err := l.commitOrResync(o)
		l.mu.Unlock()
		return nil, err
	}
	original := d.Original
	appID := d.AppID
	l.mu.Unlock()
	if original == nil {
		return l.deleteApp(appID, true)
	}
	restore := configVersion(original)
	dep, _, err := l.updateApp(appID, func(*marathon.App) (*marathon.App, error) {
		spec := original.Clone()
		spec.Version, spec.VersionInfo = "", nil
		return spec, nil
	}, true, restore, nil)
	return dep, err
}

// assignServicePorts gives every port definition without a service port one from
// [10000, 20000) that no other app uses, keeping those of the previous definition. l.mu must be held.
func (l *leader) assignServicePorts(spec, previous *marathon.App) {
	used := map[int]bool{}
	for id, a := range l.apps {
		if id == spec.ID {
			continue
		}
		for _, pd := range a.spec.PortDefinitions {
			used[pd.Port] = true
		}
	}
	var keep []int
	if previous != nil {
		for _, pd := range previous.PortDefinitions {
			keep = append(keep, pd.Port)
		}
	}
	next := servicePortMin
	for i := range spec.PortDefinitions {
		pd := &spec.PortDefinitions[i]
		if pd.Port != 0 {
			used[pd.Port] = true
			continue
		}
		if i < len(keep) && keep[i] != 0 && !used[keep[i]] {
			pd.Port = keep[i]
			used[pd.Port] = true
			continue
		}
		for next < servicePortMax && used[next] {
			next++
		}
		if next < servicePortMax {
			pd.Port = next
			used[next] = true
		}
	}
}

// Service ports Marathon hands out (its local_port_min and local_port_max).
const (
	servicePortMin = 10000
	servicePortMax = 20000
)
