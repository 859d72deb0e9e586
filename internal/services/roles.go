package services

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Roles of apps, as Marathon 1.9 has them: an app's role is the Mesos role its tasks are meant
// to run under. An app directly in the root group may have the default role only. An app under
// a top-level group (/dev, or deeper) may have the default role or the group's role ("dev");
// when the group enforces its role (enforceRole), the group's role only. Either way the role an
// app has now stays valid for it. An app given no role gets the group's role when the group
// enforces it, else the default role.

// defaultRole is the role apps get unless their group enforces one: Marathon's --mesos_role,
// which the framework subscribes with.
const defaultRole = "*"

// roleSettings are the roles an app may have and the one it gets when it names none.
type roleSettings struct {
	valid []string
	def   string
}

// rolesFor returns the role settings of app id, given its current definition (nil when it is
// new) and the groups made through /v2/groups as they are once the change is made.
func rolesFor(id string, current *marathon.App, groups map[string]*group) roleSettings {
	rs := roleSettings{valid: []string{defaultRole}, def: defaultRole}
	if top := topLevelGroup(id); top != "" {
		role := strings.TrimPrefix(top, "/")
		if g := groups[top]; g != nil && g.EnforceRole != nil && *g.EnforceRole {
			rs = roleSettings{valid: []string{role}, def: role}
		} else {
			rs.valid = append(rs.valid, role)
		}
	}
	if current != nil && current.Role != "" && !slices.Contains(rs.valid, current.Role) {
		rs.valid = append(rs.valid, current.Role)
	}
	return rs
}

// topLevelGroup returns the top-level group app id lies in ("/dev" for "/dev/web/a"), or ""
// for an app directly in the root group.
func topLevelGroup(id string) string {
	rest, ok := strings.CutPrefix(id, "/")
	top, _, nested := strings.Cut(rest, "/")
	if !ok || !nested {
		return ""
	}
	return "/" + top
}

// settleRole gives spec the default role of its place when it names none, and refuses a role
// it may not have; path is where its role lies in the request ("/role", "/apps(0)/role").
func settleRole(spec, current *marathon.App, groups map[string]*group, path string) error {
	rs := rolesFor(spec.ID, current, groups)
	if spec.Role == "" {
		spec.Role = rs.def
		return nil
	}
	if slices.Contains(rs.valid, spec.Role) {
		return nil
	}
	return &marathon.ValidationError{Message: marathon.MsgInvalidObject, Details: []marathon.ErrorDetail{{
		Path: path, Errors: []string{fmt.Sprintf("got %s, expected one of: [%s]", spec.Role, strings.Join(rs.valid, ", "))},
	}}}
}

// settleGroupRoles settles the role of every app of a group tree that the change c deploys
// (a new or changed definition), with the groups as c leaves them; the paths of errors are
// those of the apps in the tree ("/groups(1)/apps(0)/role"). l.mu must be held.
func (l *leader) settleGroupRoles(tree *marathon.Group, c appChange) error {
	var walk func(g *marathon.Group, path string) error
	walk = func(g *marathon.Group, path string) error {
		for i, a := range g.Apps {
			if c.apps[a.ID] != a {
				continue
			}
			var current *marathon.App
			if cur := l.apps[a.ID]; cur != nil {
				current = cur.spec
			}
			if err := settleRole(a, current, c.groups, fmt.Sprintf("%s/apps(%d)/role", path, i)); err != nil {
				return err
			}
		}
		for i, sub := range g.Groups {
			if err := walk(sub, fmt.Sprintf("%s/groups(%d)", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	if tree == nil {
		return nil
	}
	return walk(tree, "")
}

// Launching under roles. The framework subscribes as MULTI_ROLE with the default role and every
// role its apps have; each app is placed only on offers allocated to its role, and its tasks'
// resources carry that allocation role. An app given a role the subscription lacks has the
// leader subscribe again with it; roles no app has any longer are dropped then, but never one a
// live task still runs under.

// appRole returns the role spec's tasks run under: the default role for an app stored without
// one.
func appRole(spec *marathon.App) string {
	if spec == nil || spec.Role == "" {
		return defaultRole
	}
	return spec.Role
}

// role returns the role the instance's task runs under: the default role for instances
// launched before tasks ran under their app's role.
func (in *instance) role() string {
	if in.Role == "" {
		return defaultRole
	}
	return in.Role
}

// offerRole returns the role an offer is allocated to: its allocation info, else its
// resources', else the default role (a master without MULTI_ROLE support).
func offerRole(o mesos.Offer) string {
	if o.AllocationInfo != nil && o.AllocationInfo.Role != "" {
		return o.AllocationInfo.Role
	}
	for _, r := range o.Resources {
		if r.AllocationInfo != nil && r.AllocationInfo.Role != "" {
			return r.AllocationInfo.Role
		}
	}
	return defaultRole
}

// frameworkRoles returns the roles to subscribe with, sorted: the default role, every app's,
// and every live instance's. l.mu must be held.
func (l *leader) frameworkRoles() []string {
	set := map[string]bool{defaultRole: true}
	for _, a := range l.apps {
		set[appRole(a.spec)] = true
	}
	for _, in := range l.instances {
		if !in.State.Terminal() {
			set[in.role()] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// missingRole returns a role some app has that the subscription (roles, sorted) lacks, or "".
// l.mu must be held.
func (l *leader) missingRole(roles []string) string {
	for _, a := range l.apps {
		if r := appRole(a.spec); !containsSorted(roles, r) {
			return r
		}
	}
	return ""
}

// waitingRoles returns the roles of the apps with launches waiting and ready, sorted. l.mu must
// be held.
func (l *leader) waitingRoles(now time.Time) []string {
	set := map[string]bool{}
	for _, a := range l.apps {
		if a.queued > 0 && a.backoff.ready(now) {
			set[appRole(a.spec)] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func containsSorted(s []string, v string) bool {
	_, ok := slices.BinarySearch(s, v)
	return ok
}
