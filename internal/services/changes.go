package services

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
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

// appChange is a change of one or more apps deployed together.
type appChange struct {
	apps    map[string]*marathon.App // app id -> new definition (validated, defaults applied); nil deletes the app
	groups  map[string]*group        // every group made through /v2/groups after the change; nil: unchanged
	groupID string                   // the group a /v2/groups change names, "" for others
	post    func(*marathon.App) event
}

// prepared is a change ready to apply: new definitions versioned, steps planned.
type prepared struct {
	version  string
	from, to map[string]*marathon.App // the apps that change: before (absent: new), after (nil: deleted)
	plan     [][]action
}

// prepare checks that no deployment locks the change's apps (unless force), gives the new
// definitions their version and service ports, leaves out those that change nothing, and plans
// the steps by dependencies (a cycle is an error). A definition that carries a versionInfo is a
// restored one: it keeps its configuration version, so instances still running it stay. It
// changes no state but the definitions given. l.mu must be held.
func (l *leader) prepare(c appChange, force bool, now time.Time) (*prepared, error) {
	ids := slices.Sorted(maps.Keys(c.apps))
	latest := ""
	for _, id := range ids {
		if err := l.lockedBy(id, force); err != nil {
			return nil, err
		}
		if a := l.apps[id]; a != nil {
			latest = max(latest, a.spec.Version)
		}
	}
	p := &prepared{version: l.newVersion(now, latest), from: map[string]*marathon.App{}, to: map[string]*marathon.App{}}
	v := p.version
	var batch []*marathon.App
	for _, id := range ids {
		spec := c.apps[id]
		var old *marathon.App
		if a := l.apps[id]; a != nil {
			old = a.spec
		}
		if spec == nil {
			if old != nil {
				p.from[id], p.to[id] = old, nil
			}
			continue
		}
		restore := ""
		if spec.VersionInfo != nil {
			restore = spec.VersionInfo.LastConfigChangeAt
		}
		l.assignServicePorts(spec, old, batch)
		batch = append(batch, spec)
		spec.Version = v
		spec.VersionInfo = &marathon.VersionInfo{LastScalingAt: v, LastConfigChangeAt: cmp.Or(restore, v)}
		if old != nil {
			if sameConfig(old, spec) {
				if instancesOf(old) == instancesOf(spec) {
					continue
				}
				spec.VersionInfo.LastConfigChangeAt = configVersion(old)
			}
			p.from[id] = old
		}
		p.to[id] = spec
	}
	before, after := l.dependencyGraphs(p.to, c.groups)
	plan, err := planSteps(p.from, p.to, before, after)
	if err != nil {
		return nil, err
	}
	p.plan = plan
	return p, nil
}

// dependencyGraphs returns the dependency graphs of the apps now and once the apps in to
// (nil: deleted) and the groups (nil: unchanged) are. l.mu must be held.
func (l *leader) dependencyGraphs(to map[string]*marathon.App, groups map[string]*group) (before, after appDeps) {
	groupDeps := func(gs map[string]*group) map[string][]string {
		out := map[string][]string{}
		for id, g := range gs {
			if len(g.Dependencies) > 0 {
				out[id] = g.Dependencies
			}
		}
		return out
	}
	if groups == nil {
		groups = l.groups
	}
	if !l.anyDependencies(to, groups) {
		return appDeps{}, appDeps{}
	}
	cur := make(map[string]*marathon.App, len(l.apps))
	for id, a := range l.apps {
		cur[id] = a.spec
	}
	next := maps.Clone(cur)
	for id, spec := range to {
		if spec == nil {
			delete(next, id)
		} else {
			next[id] = spec
		}
	}
	return dependencyGraph(cur, groupDeps(l.groups)), dependencyGraph(next, groupDeps(groups))
}

// anyDependencies reports whether an app or a group, now or after a change, has dependencies:
// without any, every change is planned without graphs. l.mu must be held.
func (l *leader) anyDependencies(to map[string]*marathon.App, groups map[string]*group) bool {
	for _, gs := range []map[string]*group{l.groups, groups} {
		for _, g := range gs {
			if len(g.Dependencies) > 0 {
				return true
			}
		}
	}
	for _, spec := range to {
		if spec != nil && len(spec.Dependencies) > 0 {
			return true
		}
	}
	for _, a := range l.apps {
		if len(a.spec.Dependencies) > 0 {
			return true
		}
	}
	return false
}

// apply makes a prepared change: the new definitions become current, deleted apps go, and one
// deployment carries the plan. l.mu must be held.
func (l *leader) apply(c appChange, p *prepared, now time.Time, o *ops) *deployment {
	ids := slices.Sorted(maps.Keys(p.to))
	for _, id := range ids {
		spec, a := p.to[id], l.apps[id]
		switch {
		case spec == nil:
			delete(l.apps, id)
			o.delApp(id)
		case a == nil:
			o.putAppVersion(spec)
			l.apps[id] = &app{spec: spec, versions: []string{spec.Version}}
		default:
			if !sameConfig(a.spec, spec) {
				a.backoff = backoff{}
			}
			l.setSpec(a, spec, o)
		}
		if spec != nil && c.post != nil {
			o.emit(c.post(spec))
		}
	}
	if c.groups != nil {
		l.groups = c.groups
	}
	if c.groupID == "" && len(l.groups) > 0 {
		l.recordAppChange(ids, p.version, o)
	}
	d := l.startDeployment(p.plan, p.from, p.to, c.groupID, p.version, now, o)
	for _, id := range ids {
		l.converge(id, now, o)
	}
	return d
}

// deploy prepares, applies and persists a change. l.mu must be held.
func (l *leader) deploy(c appChange, force bool) (*deployment, error) {
	now := l.s.now()
	p, err := l.prepare(c, force, now)
	if err != nil {
		return nil, err
	}
	o := &ops{}
	d := l.apply(c, p, now, o)
	l.reviveEarly(now)
	if err := l.commitOrResync(o); err != nil {
		return nil, err
	}
	return d, nil
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
	if err := l.newAppIDClash(spec.ID); err != nil {
		return nil, nil, err
	}
	if err := settleRole(spec, nil, l.groups, "/role"); err != nil {
		return nil, nil, err
	}
	spec.Version, spec.VersionInfo = "", nil
	d, err := l.deploy(appChange{apps: map[string]*marathon.App{spec.ID: spec}, post: post}, force)
	if err != nil {
		return nil, nil, err
	}
	return spec, d, nil
}

// updateApp replaces an app's definition, creating the app if it does not exist: build returns
// the new definition (validated, defaults applied) from the current one (nil when there is
// none). A change of instances alone scales; any other change restarts every instance.
func (l *leader) updateApp(id string, build func(old *marathon.App) (*marathon.App, error), force bool, post func(*marathon.App) event) (*deployment, bool, error) {
	d, created, err := l.updateApps(map[string]func(*marathon.App) (*marathon.App, error){id: build}, nil, force, post)
	return d, created[id], err
}

// updateApps changes several apps in one deployment: builds maps each app id to what
// updateApp's build is for it. Each app gets its role settled (settleRole); rolePath, when
// set, tells where an app's role lies in the request ("/role" when nil). created tells the
// apps that did not exist.
func (l *leader) updateApps(builds map[string]func(old *marathon.App) (*marathon.App, error), rolePath func(id string) string, force bool, post func(*marathon.App) event) (_ *deployment, created map[string]bool, _ error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := appChange{apps: map[string]*marathon.App{}, post: post}
	created = map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(builds)) {
		var current *marathon.App
		if a := l.apps[id]; a != nil {
			current = a.spec
		} else if err := l.newAppIDClash(id); err != nil {
			return nil, nil, err
		}
		spec, err := builds[id](current)
		if err != nil {
			return nil, nil, err
		}
		path := "/role"
		if rolePath != nil {
			path = rolePath(id)
		}
		if err := settleRole(spec, current, l.groups, path); err != nil {
			return nil, nil, err
		}
		c.apps[id] = spec
		created[id] = current == nil
	}
	d, err := l.deploy(c, force)
	return d, created, err
}

// newAppIDClash returns the error for a new app whose id names a group or lies under an app:
// groups and apps may not share an id. l.mu must be held.
func (l *leader) newAppIDClash(id string) error {
	isGroup := l.groups[id] != nil
	for aid := range l.apps {
		if isGroup {
			break
		}
		isGroup = strings.HasPrefix(aid, id+"/")
	}
	if isGroup {
		return &apiError{Status: http.StatusConflict, Body: msg("A group with id [%s] already exists.", id)}
	}
	for p := marathon.ParentPath(id); p != "/"; p = marathon.ParentPath(p) {
		if l.apps[p] != nil {
			return &apiError{Status: http.StatusConflict, Body: msg("An app with id [%s] already exists; it cannot hold %s.", p, id)}
		}
	}
	return nil
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
	l.recordAppChange([]string{id}, v, o)
	d := l.startDeployment(appSteps(id, actionRestart), map[string]*marathon.App{id: old}, map[string]*marathon.App{id: spec}, "", v, now, o)
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
	if l.apps[id] == nil {
		return nil, errAppNotFound(id)
	}
	return l.deploy(appChange{apps: map[string]*marathon.App{id: nil}}, force)
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
			l.kill(in)
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
			l.recordAppChange([]string{id}, v, o)
			deps = append(deps, l.startDeployment(appSteps(id, actionScale), map[string]*marathon.App{id: old}, map[string]*marathon.App{id: spec}, "", v, now, o))
		}
		l.converge(id, now, o)
	}
	l.poke()
	if err := l.commitOrResync(o); err != nil {
		return nil, nil, err
	}
	return killed, deps, nil
}

// cancelDeployment stops a deployment. With force it only forgets it; otherwise it deploys
// every app it changes as it was before.
func (l *leader) cancelDeployment(id string, force bool) (*deployment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.deployments[id]
	if d == nil {
		return nil, &apiError{Status: http.StatusNotFound, Body: msg("DeploymentPlan %s does not exist", id)}
	}
	if force {
		o := &ops{}
		l.endDeployment(d, evDeploymentFail, l.s.now(), o)
		return nil, l.commitOrResync(o)
	}
	// The definitions before keep their versionInfo: instances still running them stay.
	c := appChange{apps: map[string]*marathon.App{}}
	for _, id := range d.apps() {
		c.apps[id] = nil
		if orig := d.Original[id]; orig != nil {
			c.apps[id] = orig.Clone()
		}
	}
	return l.deploy(c, true)
}

// assignServicePorts gives every port definition without a service port one from
// [10000, 20000) that no other app uses (nor the others of batch, deployed with it), keeping
// those of the previous definition. l.mu must be held.
func (l *leader) assignServicePorts(spec, previous *marathon.App, batch []*marathon.App) {
	used := map[int]bool{}
	for _, other := range batch {
		for _, pd := range other.PortDefinitions {
			used[pd.Port] = true
		}
	}
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
