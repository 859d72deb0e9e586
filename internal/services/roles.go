package services

import (
	"fmt"
	"slices"
	"strings"

	"github.com/marina-dcos/marina/internal/api/marathon"
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
