package marathon

import "encoding/json"

// Group is a group of apps and groups (RAML group.GroupInfo for GET, group.GroupUpdate for
// POST/PUT /v2/groups). Pods are kept as raw JSON: Marina does not run pods.
type Group struct {
	ID           string            `json:"id"`
	Apps         []*App            `json:"apps,omitzero"`
	Pods         []json.RawMessage `json:"pods,omitzero"`
	Groups       []*Group          `json:"groups,omitzero"`
	Dependencies []string          `json:"dependencies,omitzero"`
	Version      string            `json:"version,omitempty"`
	EnforceRole  *bool             `json:"enforceRole,omitempty"`
	ScaleBy      *float64          `json:"scaleBy,omitempty"` // PUT only: scale every app by this factor
}

// Normalize makes the group's id absolute (relative to the root) and resolves the ids and
// dependencies of its apps and subgroups relative to it, then normalizes every app.
func (g *Group) Normalize() { g.normalizeIn("/") }

func (g *Group) normalizeIn(base string) {
	if id, ok := CanonicalPath(g.ID, base); ok && g.ID != "" {
		g.ID = id
	}
	for i, d := range g.Dependencies {
		if dep, ok := CanonicalPath(d, g.ID); ok && d != "" {
			g.Dependencies[i] = dep
		}
	}
	for _, a := range g.Apps {
		if a != nil {
			a.normalizeIn(g.ID)
		}
	}
	for _, sg := range g.Groups {
		if sg != nil {
			sg.normalizeIn(g.ID)
		}
	}
}

// ApplyDefaults normalizes the group and applies defaults to every app in it.
func (g *Group) ApplyDefaults() {
	g.Normalize()
	g.Walk(func(a *App) { a.ApplyDefaults() })
}

// Walk calls fn for every app in the group and its subgroups, depth first.
func (g *Group) Walk(fn func(*App)) {
	for _, a := range g.Apps {
		if a != nil {
			fn(a)
		}
	}
	for _, sg := range g.Groups {
		if sg != nil {
			sg.Walk(fn)
		}
	}
}

// Validate checks the group, its apps and its subgroups; paths are like "/apps(0)/id" and
// "/groups(1)/apps(0)/cmd". Ids are unique across the tree, every app and subgroup must lie
// under its group, and only a top-level group may enforce its role.
func (g *Group) Validate() *ValidationError {
	var p problems
	seen := map[string]string{}
	g.validateIn("/", "/", seen, &p)
	return p.err(MsgInvalidObject)
}

func (g *Group) validateIn(path, base string, seen map[string]string, p *problems) {
	validatePathID(sub(path, "id"), g.ID, base, true, p)
	id, _ := CanonicalPath(g.ID, base)
	if base != "/" || path != "/" {
		if !IsChildPath(id, base) {
			p.addf(sub(path, "id"), "identifier %s is not child of %s. Hint: use relative paths.", id, base)
		}
	}
	claim := func(p2, what, id string) {
		if prev, dup := seen[id]; dup {
			p.addf(p2, "%s %s is already defined as %s", what, id, prev)
			return
		}
		seen[id] = what
	}
	if path != "/" {
		claim(sub(path, "id"), "group", id)
	}
	if g.EnforceRole != nil && *g.EnforceRole && (id == "/" || ParentPath(id) != "/") {
		p.addf(sub(path, "enforceRole"), "enforceRole can only be set for top-level groups, and %s is not top-level", id)
	}
	for i, d := range g.Dependencies {
		validatePathID(idx(sub(path, "dependencies"), i), d, id, false, p)
	}
	if g.ScaleBy != nil && (*g.ScaleBy < 0 || isBad(*g.ScaleBy)) {
		p.add(sub(path, "scaleBy"), "must be greater than or equal to 0")
	}
	for i, a := range g.Apps {
		ap := idx(sub(path, "apps"), i)
		if a == nil {
			p.add(ap, "must not be null")
			continue
		}
		a.validateIn(ap, id, p)
		appID, _ := CanonicalPath(a.ID, id)
		if a.ID != "" && !IsChildPath(appID, id) {
			p.addf(sub(ap, "id"), "identifier %s is not child of %s. Hint: use relative paths.", appID, id)
		}
		claim(sub(ap, "id"), "app", appID)
	}
	for i, sg := range g.Groups {
		gp := idx(sub(path, "groups"), i)
		if sg == nil {
			p.add(gp, "must not be null")
			continue
		}
		sg.validateIn(gp, id, seen, p)
	}
}

// GroupPartialUpdate is the body of PATCH /v2/groups/{id} (RAML group.GroupPartialUpdate): the
// settings of a top-level group that change without restarting its apps.
type GroupPartialUpdate struct {
	EnforceRole *bool `json:"enforceRole,omitempty"`
}
