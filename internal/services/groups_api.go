package services

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// groupsRoute serves /v2/groups and everything under it: the group, its versions
// ({id}/versions) and the group at one of them ({id}/versions/{version}); the root's are
// /v2/groups/versions[/{version}].
func (s *Server) groupsRoute(r *http.Request, l *leader) (any, error) {
	rest := strings.TrimPrefix(r.URL.Path, "/v2/groups")
	rest, versions := strings.CutSuffix(rest, "/versions")
	version := ""
	if i := strings.LastIndex(rest, "/versions/"); !versions && i >= 0 {
		rest, version = rest[:i], rest[i+len("/versions/"):]
	}
	id, ok := marathon.CanonicalPath(rest, "/")
	if !ok {
		return nil, errGroupNotFound(rest)
	}
	switch {
	case versions && r.Method == http.MethodGet:
		return s.groupVersions(l, id)
	case version != "" && r.Method == http.MethodGet:
		return s.groupVersion(r, id, version)
	case versions || version != "":
	case r.Method == http.MethodGet:
		return s.getGroup(r, l, id)
	case r.Method == http.MethodPost:
		return s.postGroup(r, l, id)
	case r.Method == http.MethodPut:
		return s.putGroup(r, l, id)
	case r.Method == http.MethodDelete:
		return s.deleteGroup(r, l, id)
	case r.Method == http.MethodPatch:
		return s.patchGroup(r, l, id)
	}
	return nil, &apiError{Status: http.StatusMethodNotAllowed, Body: msg("%s is not allowed on %s", r.Method, r.URL.Path)}
}

// groupView is a group as GET /v2/groups shows it (RAML group.GroupInfo); apps are their
// cached JSON.
type groupView struct {
	ID           string            `json:"id"`
	Apps         []json.RawMessage `json:"apps,omitzero"`
	Pods         []json.RawMessage `json:"pods"`
	Groups       []*groupView      `json:"groups,omitzero"`
	Dependencies []string          `json:"dependencies"`
	Version      string            `json:"version,omitempty"`
	EnforceRole  bool              `json:"enforceRole"`
}

// GET /v2/groups/{id}. Without embed parameters, apps and groups are embedded; with them,
// group.apps, group.groups and group.apps.<what> (tasks, counts, deployments, lastTaskFailure,
// failures, taskStats) choose, as Marathon does.
func (s *Server) getGroup(r *http.Request, l *leader, id string) (any, error) {
	withApps, withGroups, e := true, true, embeds{}
	if values := r.URL.Query()["embed"]; len(values) > 0 {
		withApps, withGroups = false, false
		var appEmbeds []string
		for _, v := range values {
			switch {
			case v == "group.groups":
				withGroups = true
			case v == "group.apps":
				withApps = true
			case strings.HasPrefix(v, "group.apps."):
				withApps = true
				appEmbeds = append(appEmbeds, v)
			}
		}
		e = parseEmbeds(appEmbeds, "group.apps.", embeds{})
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	t := l.tree(id)
	if t == nil {
		return nil, errGroupNotFound(id)
	}
	var view func(g *marathon.Group) (*groupView, error)
	view = func(g *marathon.Group) (*groupView, error) {
		v := &groupView{ID: g.ID, Pods: []json.RawMessage{}, Dependencies: g.Dependencies, Version: g.Version}
		if g.EnforceRole != nil {
			v.EnforceRole = *g.EnforceRole
		}
		if withApps {
			v.Apps = make([]json.RawMessage, 0, len(g.Apps))
			for _, a := range g.Apps {
				b, err := l.appJSON(l.apps[a.ID], e)
				if err != nil {
					return nil, err
				}
				v.Apps = append(v.Apps, b)
			}
		}
		if withGroups {
			v.Groups = make([]*groupView, 0, len(g.Groups))
			for _, c := range g.Groups {
				cv, err := view(c)
				if err != nil {
					return nil, err
				}
				v.Groups = append(v.Groups, cv)
			}
		}
		return v, nil
	}
	return view(t)
}

// decodeGroup decodes, validates and completes a group definition: its id is resolved against
// the path's, the ids in it against its own, and every app gets its defaults.
func decodeGroup(body []byte, pathID string) (*marathon.Group, error) {
	g, err := marathon.DecodeGroup(body)
	if err != nil {
		return nil, err
	}
	id, ok := marathon.CanonicalPath(g.ID, pathID)
	if !ok {
		return nil, &marathon.ValidationError{Message: marathon.MsgInvalidObject, Details: []marathon.ErrorDetail{{Path: "/id", Errors: []string{"must not refer above the root group with '..'"}}}}
	}
	g.ID = id
	if verr := g.Validate(); verr != nil {
		return nil, verr
	}
	g.Normalize()
	var appErr error
	g.Walk(func(a *marathon.App) {
		a.Version, a.VersionInfo = "", nil
		if _, err := completeApp(a, a.ID); err != nil && appErr == nil {
			appErr = err
		}
	})
	return g, appErr
}

// readGroup reads the force query parameter and the group definition of a POST or PUT of a
// group at pathID.
func (s *Server) readGroup(r *http.Request, pathID string) (bool, *marathon.Group, error) {
	force, body, err := s.readChange(r)
	if err != nil {
		return false, nil, err
	}
	g, err := decodeGroup(body, pathID)
	return force, g, err
}

// POST /v2/groups[/{id}]: create a group with its apps and groups.
func (s *Server) postGroup(r *http.Request, l *leader, pathID string) (any, error) {
	force, g, err := s.readGroup(r, pathID)
	if err != nil {
		return nil, err
	}
	d, _, err := l.changeGroup(g.ID, func(cur *marathon.Group) (*marathon.Group, error) {
		if cur != nil {
			return nil, &apiError{Status: http.StatusConflict, Body: msg("Group %s is already created. Use PUT to change this group.", g.ID)}
		}
		return g, nil
	}, force, false)
	if err != nil {
		return nil, err
	}
	rep := deploymentReply(http.StatusCreated, d)
	rep.header.Set("Location", "/v2/groups"+strings.TrimSuffix(g.ID, "/"))
	return rep, nil
}

// PUT /v2/groups[/{id}]: change a group (creating it when it does not exist), scale every app
// in it (scaleBy), or roll it back to an earlier version (version). dryRun answers the steps
// without deploying them.
func (s *Server) putGroup(r *http.Request, l *leader, pathID string) (any, error) {
	force, g, err := s.readGroup(r, pathID)
	if err != nil {
		return nil, err
	}
	dryRun, err := boolParam(r, "dryRun", false)
	if err != nil {
		return nil, err
	}
	id := g.ID
	var build func(cur *marathon.Group) (*marathon.Group, error)
	switch {
	case g.Version != "":
		old, err := s.storedGroup(r, id, g.Version)
		if err != nil {
			return nil, err
		}
		build = func(*marathon.Group) (*marathon.Group, error) { return old, nil }
	case g.ScaleBy != nil:
		build = func(cur *marathon.Group) (*marathon.Group, error) {
			if cur == nil {
				return nil, errGroupNotFound(id)
			}
			return scaled(cur, *g.ScaleBy), nil
		}
	default:
		build = func(cur *marathon.Group) (*marathon.Group, error) { return merged(cur, g), nil }
	}
	d, plan, err := l.changeGroup(id, build, force, dryRun)
	if err != nil {
		return nil, err
	}
	if dryRun {
		return marathon.DeploymentSteps{Steps: stepsOf(plan)}, nil
	}
	return deploymentReply(http.StatusOK, d), nil
}

// PATCH /v2/groups/{id}: change the settings of a top-level group (enforceRole) without
// touching its apps: no deployment, nothing restarted.
func (s *Server) patchGroup(r *http.Request, l *leader, id string) (any, error) {
	body, err := s.readBody(r)
	if err != nil {
		return nil, err
	}
	u, err := marathon.DecodeGroupPartialUpdate(body)
	if err != nil {
		return nil, err
	}
	if id == "/" || marathon.ParentPath(id) != "/" {
		return nil, &marathon.ValidationError{Message: marathon.MsgInvalidObject, Details: []marathon.ErrorDetail{{
			Path: "/id", Errors: []string{fmt.Sprintf("%s is not a top-level group: only those can be patched", id)},
		}}}
	}
	if err := l.patchGroup(id, u); err != nil {
		return nil, err
	}
	return reply{status: http.StatusOK}, nil
}

// DELETE /v2/groups[/{id}]: stop and remove every app and group in it.
func (s *Server) deleteGroup(r *http.Request, l *leader, id string) (any, error) {
	force, err := boolParam(r, "force", false)
	if err != nil {
		return nil, err
	}
	d, _, err := l.changeGroup(id, func(cur *marathon.Group) (*marathon.Group, error) {
		if cur == nil {
			return nil, errGroupNotFound(id)
		}
		return nil, nil
	}, force, false)
	if err != nil {
		return nil, err
	}
	return deploymentReply(http.StatusOK, d), nil
}

// GET /v2/groups/{id}/versions: the stored versions of the group, newest first.
func (s *Server) groupVersions(l *leader, id string) (any, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var vs []string
	if g := l.groups[id]; g != nil {
		vs = slices.Clone(g.versions)
	} else if l.tree(id) == nil {
		return nil, errGroupNotFound(id)
	}
	slices.SortFunc(vs, func(a, b string) int { return cmp.Compare(b, a) })
	if vs == nil {
		vs = []string{}
	}
	return vs, nil
}

// storedGroup reads the tree of group id at a stored version of it.
func (s *Server) storedGroup(r *http.Request, id, version string) (*marathon.Group, error) {
	var g marathon.Group
	found, err := getValue(r.Context(), s.cfg.Etcd, groupVersionKey(id, version), &g)
	if err != nil {
		return nil, fmt.Errorf("reading group %s version %s: %w", id, version, err)
	}
	if !found {
		return nil, &apiError{Status: http.StatusNotFound, Body: msg("Group '%s' does not exist in version %s", id, version)}
	}
	return &g, nil
}

// GET /v2/groups/{id}/versions/{version}: the group's tree as that version of it stored it.
func (s *Server) groupVersion(r *http.Request, id, version string) (any, error) {
	g, err := s.storedGroup(r, id, version)
	if err != nil {
		return nil, err
	}
	var withPods func(g *marathon.Group)
	withPods = func(g *marathon.Group) {
		g.Pods = []json.RawMessage{}
		for _, c := range g.Groups {
			withPods(c)
		}
	}
	withPods(g)
	return g, nil
}
