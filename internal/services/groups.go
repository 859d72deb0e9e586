package services

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// Groups are a tree over the apps' ids: a group exists when it was made through /v2/groups
// (l.groups, persisted with its dependencies) or when an app lies under it. A change of a group
// is a change of the apps in its subtree, deployed at once (appChange), plus its new groups;
// every change of a group stores the group's tree at that version, to roll back to. The root
// group holds every app: every change of apps or groups stores a version of it.

func errGroupNotFound(id string) error {
	return &apiError{Status: http.StatusNotFound, Body: msg("Group '%s' does not exist", id)}
}

// groupIndex is the group tree as the state implies it.
type groupIndex struct {
	known    map[string]bool     // every group
	children map[string][]string // group id -> its groups
	appsIn   map[string][]string // group id -> its apps
}

// index returns the group tree: the groups made through /v2/groups and every group an app
// lies in, with their parents. l.mu must be held.
func (l *leader) groupIndex() groupIndex {
	x := groupIndex{known: map[string]bool{"/": true}, children: map[string][]string{}, appsIn: map[string][]string{}}
	var ensure func(g string)
	ensure = func(g string) {
		if x.known[g] {
			return
		}
		x.known[g] = true
		p := marathon.ParentPath(g)
		x.children[p] = append(x.children[p], g)
		ensure(p)
	}
	for gid := range l.groups {
		ensure(gid)
	}
	for aid := range l.apps {
		p := marathon.ParentPath(aid)
		ensure(p)
		x.appsIn[p] = append(x.appsIn[p], aid)
	}
	return x
}

// tree returns the group id as the state holds it, its apps the current definitions (shared:
// never change them), or nil when there is no such group. l.mu must be held.
func (l *leader) tree(id string) *marathon.Group {
	x := l.groupIndex()
	if !x.known[id] {
		return nil
	}
	appsIn, children := x.appsIn, x.children
	var build func(id string) *marathon.Group
	build = func(id string) *marathon.Group {
		g := &marathon.Group{ID: id, Apps: []*marathon.App{}, Groups: []*marathon.Group{}, Dependencies: []string{}}
		if meta := l.groups[id]; meta != nil {
			g.Dependencies = append(g.Dependencies, meta.Dependencies...)
			g.Version = meta.Version
			g.EnforceRole = meta.EnforceRole
		}
		for _, aid := range slices.Sorted(slices.Values(appsIn[id])) {
			spec := l.apps[aid].spec
			g.Apps = append(g.Apps, spec)
			g.Version = max(g.Version, spec.Version)
		}
		for _, cid := range slices.Sorted(slices.Values(children[id])) {
			c := build(cid)
			g.Groups = append(g.Groups, c)
			g.Version = max(g.Version, c.Version)
		}
		return g
	}
	return build(id)
}

// storedGroup is a group tree as a version of it is stored: its apps' JSON without the fields
// GET adds, their versions kept. It decodes as a marathon.Group.
type storedGroup struct {
	ID           string            `json:"id"`
	Apps         []json.RawMessage `json:"apps"`
	Groups       []*storedGroup    `json:"groups"`
	Dependencies []string          `json:"dependencies,omitzero"`
	Version      string            `json:"version,omitempty"`
	EnforceRole  *bool             `json:"enforceRole,omitempty"`
}

// MarshalJSON encodes the tree with its apps' JSON copied as it is: encoding/json would
// validate and compact every app's JSON again, which costs as much as encoding it.
func (g *storedGroup) MarshalJSON() ([]byte, error) {
	return g.appendJSON(nil)
}

func (g *storedGroup) appendJSON(b []byte) ([]byte, error) {
	head, err := json.Marshal(struct {
		ID           string   `json:"id"`
		Dependencies []string `json:"dependencies,omitzero"`
		Version      string   `json:"version,omitempty"`
		EnforceRole  *bool    `json:"enforceRole,omitempty"`
	}{g.ID, g.Dependencies, g.Version, g.EnforceRole})
	if err != nil {
		return nil, err
	}
	b = append(b, head[:len(head)-1]...) // without its closing brace
	b = append(b, `,"apps":[`...)
	for i, a := range g.Apps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, a...)
	}
	b = append(b, `],"groups":[`...)
	for i, c := range g.Groups {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = c.appendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, "]}"...), nil
}

// storedTree returns a group tree as a version of it is stored. Every change stores the root's
// tree, every app in it: each app's JSON is encoded once per definition (app.stored). l.mu
// must be held for writing.
func (l *leader) storedTree(g *marathon.Group) (*storedGroup, error) {
	out := &storedGroup{ID: g.ID, Dependencies: g.Dependencies, Version: g.Version, EnforceRole: g.EnforceRole, Apps: []json.RawMessage{}, Groups: []*storedGroup{}}
	for _, spec := range g.Apps {
		a := l.apps[spec.ID]
		if a != nil && a.storedOf == spec {
			out.Apps = append(out.Apps, a.stored)
			continue
		}
		b, err := json.Marshal(spec.WithoutStatus())
		if err != nil {
			return nil, fmt.Errorf("services: encode app %s: %w", spec.ID, err)
		}
		if a != nil && a.spec == spec {
			a.storedOf, a.stored = spec, b
		}
		out.Apps = append(out.Apps, b)
	}
	for _, c := range g.Groups {
		sc, err := l.storedTree(c)
		if err != nil {
			return nil, err
		}
		out.Groups = append(out.Groups, sc)
	}
	return out, nil
}

// merged returns the group cur changed by upd as PUT /v2/groups does: when upd lists apps or
// groups, they replace cur's (those left out go; a listed group that exists is merged in
// turn); when it lists dependencies, they replace cur's. cur may be nil (a new group).
func merged(cur, upd *marathon.Group) *marathon.Group {
	if cur == nil {
		return upd
	}
	out := *cur
	if upd.Apps != nil {
		out.Apps = upd.Apps
	}
	if upd.Dependencies != nil {
		out.Dependencies = upd.Dependencies
	}
	if upd.EnforceRole != nil {
		out.EnforceRole = upd.EnforceRole
	}
	if upd.Groups != nil {
		out.Groups = nil
		for _, ug := range upd.Groups {
			i := slices.IndexFunc(cur.Groups, func(c *marathon.Group) bool { return c.ID == ug.ID })
			if i < 0 {
				out.Groups = append(out.Groups, ug)
			} else {
				out.Groups = append(out.Groups, merged(cur.Groups[i], ug))
			}
		}
	}
	return &out
}

// scaled returns a copy of a group tree with every app's instances multiplied by factor.
func scaled(g *marathon.Group, factor float64) *marathon.Group {
	out := *g
	out.Apps = make([]*marathon.App, len(g.Apps))
	for i, a := range g.Apps {
		c := a.ReadOnlyStripped()
		c.Instances = new(scaledBy(instancesOf(a), factor))
		out.Apps[i] = c
	}
	out.Groups = make([]*marathon.Group, len(g.Groups))
	for i, c := range g.Groups {
		out.Groups[i] = scaled(c, factor)
	}
	return &out
}

// flatten collects the apps and groups of a tree (nil: none) by id.
func flatten(g *marathon.Group, apps map[string]*marathon.App, groups map[string]*marathon.Group) {
	if g == nil {
		return
	}
	groups[g.ID] = g
	for _, a := range g.Apps {
		apps[a.ID] = a
	}
	for _, c := range g.Groups {
		flatten(c, apps, groups)
	}
}

// groupChange turns the change of group id from cur to target (nil: deleted) into a change of
// apps and groups. Apps of target that are cur's own definitions do not change. l.mu must be
// held.
func (l *leader) groupChange(id string, cur, target *marathon.Group) (appChange, error) {
	curApps, curGroups := map[string]*marathon.App{}, map[string]*marathon.Group{}
	flatten(cur, curApps, curGroups)
	apps, groups := map[string]*marathon.App{}, map[string]*marathon.Group{}
	flatten(target, apps, groups)
	c := appChange{apps: map[string]*marathon.App{}, groups: map[string]*group{}, groupID: id}
	existing := l.groupIndex().known
	if target != nil {
		for p := id; p != "/"; p = marathon.ParentPath(p) {
			if l.apps[p] != nil && curApps[p] == nil {
				return c, &apiError{Status: http.StatusConflict, Body: msg("An app with id [%s] already exists.", p)}
			}
		}
	}
	for aid := range curApps {
		if apps[aid] == nil {
			c.apps[aid] = nil
		}
	}
	for aid, spec := range apps {
		if spec == curApps[aid] {
			continue
		}
		if existing[aid] && curGroups[aid] == nil {
			return c, &apiError{Status: http.StatusConflict, Body: msg("A group with id [%s] already exists.", aid)}
		}
		c.apps[aid] = spec
	}
	for gid, g := range l.groups {
		if _, gone := curGroups[gid]; !gone {
			c.groups[gid] = g
		}
	}
	for gid, g := range groups {
		if a := l.apps[gid]; a != nil && c.apps[gid] == nil && curApps[gid] == nil {
			return c, &apiError{Status: http.StatusConflict, Body: msg("An app with id [%s] already exists.", gid)}
		}
		deps := make([]string, 0, len(g.Dependencies))
		for _, d := range g.Dependencies {
			d, _ = marathon.CanonicalPath(d, gid)
			deps = append(deps, d)
		}
		ng := &group{ID: gid, Dependencies: deps, EnforceRole: g.EnforceRole}
		if old := l.groups[gid]; old != nil {
			ng.versions = old.versions
		}
		c.groups[gid] = ng
	}
	if c.groups["/"] == nil { // the root was deleted: it stays, empty, with its versions
		root := &group{ID: "/"}
		if old := l.groups["/"]; old != nil {
			root.versions = old.versions
		}
		c.groups["/"] = root
	}
	return c, nil
}

// changeGroup changes group id to what build returns from its current tree (nil when the group
// does not exist; a nil result deletes the group), in one deployment. With dryRun it only
// returns the plan. l.mu must not be held.
func (l *leader) changeGroup(id string, build func(cur *marathon.Group) (*marathon.Group, error), force, dryRun bool) (*deployment, [][]action, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.tree(id)
	target, err := build(cur)
	if err != nil {
		return nil, nil, err
	}
	c, err := l.groupChange(id, cur, target)
	if err != nil {
		return nil, nil, err
	}
	if err := l.settleGroupRoles(target, c); err != nil {
		return nil, nil, err
	}
	now := l.s.now()
	p, err := l.prepare(c, force || dryRun, now)
	if err != nil {
		return nil, nil, err
	}
	if dryRun {
		return nil, p.plan, nil
	}
	changed := map[string]bool{}
	if target != nil {
		groups := map[string]*marathon.Group{}
		flatten(target, map[string]*marathon.App{}, groups)
		for gid := range groups {
			c.groups[gid].Version = p.version
			changed[gid] = true
		}
	}
	o := &ops{}
	for gid := range l.groups {
		if c.groups[gid] == nil {
			o.delGroup(gid)
		}
	}
	d := l.apply(c, p, now, o)
	for _, gid := range slices.Sorted(maps.Keys(changed)) {
		if gid != id {
			l.recordGroupVersion(l.groups[gid], p.version, o) // a version of each group the change names
		}
	}
	if g := l.groups[id]; g != nil {
		l.recordGroupVersion(g, p.version, o)
	}
	l.recordAppChange([]string{id}, p.version, o) // the groups made through /v2/groups around it
	if err := l.commitOrResync(o); err != nil {
		return nil, nil, err
	}
	return d, nil, nil
}

// patchGroup changes the settings of group id that need no deployment. l.mu must not be held.
func (l *leader) patchGroup(id string, u *marathon.GroupPartialUpdate) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tree(id) == nil {
		return errGroupNotFound(id)
	}
	g := l.groups[id]
	if g == nil {
		g = &group{ID: id}
	}
	ng := *g
	if u.EnforceRole != nil {
		ng.EnforceRole = new(*u.EnforceRole)
	}
	o := &ops{}
	o.putGroup(&ng)
	if err := l.commit(o); err != nil {
		return err
	}
	l.groups[id] = &ng
	return nil
}

// recordGroupVersion makes version the group's latest and stores its tree at that version,
// forgetting versions beyond maxVersions. A tree too large to store alongside the rest of a
// change in one etcd request is not kept: the change goes through without that version. l.mu
// must be held.
func (l *leader) recordGroupVersion(g *group, version string, o *ops) {
	g.Version = version
	tree, err := l.storedTree(l.tree(g.ID))
	var b []byte
	if err == nil {
		b, err = encodeValue(tree)
	}
	if err != nil {
		if o.err == nil {
			o.err = err
		}
		return
	}
	o.putGroup(g)
	if len(b) > maxGroupVersionBytes {
		l.log.Warn("group version not kept: its tree is too large to store", "group", g.ID, "version", version, "bytes", len(b))
		return
	}
	g.versions = append(g.versions, version)
	o.putEncoded(groupVersionKey(g.ID, version), b)
	for len(g.versions) > maxVersions {
		o.del(groupVersionKey(g.ID, g.versions[0]))
		g.versions = g.versions[1:]
	}
}

// recordAppChange records, at version, a new version of every group made through /v2/groups
// that holds one of the apps (or groups) a change touched, and of the root, which holds them
// all: a change of apps through /v2/apps, or of a group within them. l.mu must be held.
func (l *leader) recordAppChange(appIDs []string, version string, o *ops) {
	seen := map[string]bool{}
	for _, id := range appIDs {
		for p := id; p != "/"; {
			p = marathon.ParentPath(p)
			if seen[p] {
				break
			}
			seen[p] = true
			if g := l.groups[p]; g != nil {
				l.recordGroupVersion(g, version, o)
			}
		}
	}
}
