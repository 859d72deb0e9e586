package services

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// GET /v2/apps
func (s *Server) listApps(r *http.Request, l *leader) (any, error) {
	q := r.URL.Query()
	e := parseEmbeds(q["embed"], "apps.", embeds{})
	// Counts and deployments are embedded by default, as Marathon does.
	e.counts, e.deployments = true, true
	cmdFilter, idFilter := q.Get("cmd"), strings.ToLower(q.Get("id"))
	sel, err := parseSelector(q.Get("label"))
	if err != nil {
		return nil, &apiError{Status: http.StatusBadRequest, Body: msg("Invalid label selector: %v", err)}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	ids := make([]string, 0, len(l.apps))
	for id, a := range l.apps {
		if idFilter != "" && !strings.Contains(strings.ToLower(id), idFilter) {
			continue
		}
		if cmdFilter != "" && (a.spec.Cmd == nil || !strings.Contains(*a.spec.Cmd, cmdFilter)) {
			continue
		}
		if !sel.matches(a.spec.Labels) {
			continue
		}
		ids = append(ids, id)
	}
	return appsJSON(l, "apps", ids, e)
}

// appsJSON answers {"<key>": [the apps ids names, in id order]}, from the apps' cached views.
// l.mu must be held.
func appsJSON(l *leader, key string, ids []string, e embeds) (any, error) {
	slices.Sort(ids)
	views := make([][]byte, len(ids))
	size := 16
	for i, id := range ids {
		v, err := l.appJSON(l.apps[id], e)
		if err != nil {
			return nil, err
		}
		views[i] = v
		size += len(v) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"`+key+`":[`...)
	for i, v := range views {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, v...)
	}
	b = append(b, "]}"...)
	return rawJSON(b), nil
}

// GET /v2/apps/{group}/* (and /v2/apps/*): every app within the group, at any depth, embedded
// as GET /v2/apps/{id} embeds, as {"*": [...]}: Marathon's listing of a group's apps.
func (s *Server) listGroupApps(r *http.Request, l *leader, group string) (any, error) {
	e := parseEmbeds(r.URL.Query()["embed"], "app.", embeds{tasks: true, lastTaskFailure: true})
	e.counts, e.deployments = true, true
	l.mu.RLock()
	defer l.mu.RUnlock()
	var ids []string
	for id := range l.apps {
		if group == "/" || strings.HasPrefix(id, group+"/") {
			ids = append(ids, id)
		}
	}
	return appsJSON(l, "*", ids, e)
}

// decodeNewApp decodes, validates and completes an app definition. pathID, when set, is the id
// the URL names; the body's id must then be absent or equal.
func decodeNewApp(body []byte, pathID string) (*marathon.App, error) {
	spec, err := marathon.DecodeApp(body)
	if err != nil {
		return nil, err
	}
	return completeApp(spec, pathID)
}

// completeApp validates an app definition and applies defaults.
func completeApp(spec *marathon.App, pathID string) (*marathon.App, error) {
	if pathID != "" {
		if spec.ID != "" {
			if id, ok := marathon.CanonicalPath(spec.ID, "/"); !ok || id != pathID {
				return nil, &marathon.ValidationError{Message: marathon.MsgInvalidObject, Details: []marathon.ErrorDetail{{
					Path: "/id", Errors: []string{fmt.Sprintf("the id in the body (%s) differs from the id in the path (%s)", spec.ID, pathID)},
				}}}
			}
		}
		spec.ID = pathID
	}
	if verr := spec.Validate(); verr != nil {
		return nil, verr
	}
	spec.ApplyDefaults()
	if id, ok := marathon.CanonicalPath(spec.ID, "/"); ok {
		spec.ID = id
	}
	return spec, nil // its role is settled once its group is known (settleRole)
}

// POST /v2/apps
func (s *Server) postApp(r *http.Request, l *leader) (any, error) {
	force, body, err := s.readChange(r)
	if err != nil {
		return nil, err
	}
	spec, err := decodeNewApp(body, "")
	if err != nil {
		return nil, err
	}
	created, d, err := l.createApp(spec, force, s.apiPosted(r))
	if err != nil {
		return nil, err
	}
	l.mu.RLock()
	view := l.appView(&app{spec: created}, embeds{counts: true, deployments: true, tasks: true})
	l.mu.RUnlock()
	view.Deployments = []marathon.DeploymentRef{{ID: d.ID}}
	return reply{
		status: http.StatusCreated,
		header: http.Header{"Location": {"/v2/apps" + created.ID}, "Marathon-Deployment-Id": {d.ID}},
		body:   view,
	}, nil
}

// apiPosted returns how a change made by r is announced: an api_post_event.
func (s *Server) apiPosted(r *http.Request) func(*marathon.App) event {
	return func(spec *marathon.App) event {
		return newEvent(evAPIPost, marathon.APIPostEvent{
			EventMeta:     marathon.EventMeta{EventType: evAPIPost, Timestamp: timestamp(s.now())},
			ClientIP:      remoteIP(r),
			URI:           r.URL.Path,
			AppDefinition: spec,
		})
	}
}

// appRoute serves everything under /v2/apps/{id}: the app, its tasks, versions and restart.
func (s *Server) appRoute(r *http.Request, l *leader) (any, error) {
	rest := strings.TrimPrefix(r.URL.Path, "/v2/apps")
	id, sub := rest, ""
	for _, suffix := range []string{"/restart", "/tasks", "/versions"} {
		if i := strings.LastIndex(rest, suffix); i > 0 && (len(rest) == i+len(suffix) || suffix != "/restart" && rest[i+len(suffix)] == '/') {
			id, sub = rest[:i], rest[i:]
			break
		}
	}
	if group, ok := strings.CutSuffix(id, "*"); ok && sub == "" && r.Method == http.MethodGet && strings.HasSuffix(group, "/") {
		group, _ = marathon.CanonicalPath(group, "/")
		return s.listGroupApps(r, l, group)
	}
	id, _ = marathon.CanonicalPath(id, "/")
	if id == "/" {
		return nil, &apiError{Status: http.StatusNotFound, Body: msg("App '/' does not exist")}
	}
	method := r.Method
	switch {
	case sub == "" && method == http.MethodGet:
		return s.getApp(r, l, id)
	case sub == "" && (method == http.MethodPut || method == http.MethodPatch):
		return s.putApp(r, l, id)
	case sub == "" && method == http.MethodDelete:
		return forced(r, id, l.deleteApp)
	case sub == "/restart" && method == http.MethodPost:
		return forced(r, id, l.restartApp)
	case sub == "/tasks" && method == http.MethodGet:
		return s.appTasks(r, l, id)
	case sub == "/tasks" && method == http.MethodDelete:
		return s.killAppTasks(r, l, id, "")
	case strings.HasPrefix(sub, "/tasks/") && method == http.MethodDelete:
		return s.killAppTasks(r, l, id, strings.TrimPrefix(sub, "/tasks/"))
	case sub == "/versions" && method == http.MethodGet:
		return s.appVersions(l, id)
	case strings.HasPrefix(sub, "/versions/") && method == http.MethodGet:
		return s.appVersion(r, l, id, strings.TrimPrefix(sub, "/versions/"))
	}
	return nil, &apiError{Status: http.StatusMethodNotAllowed, Body: msg("%s is not allowed on %s", method, r.URL.Path)}
}

// forced runs a change of app id that takes only the force query parameter, and answers its
// deployment.
func forced(r *http.Request, id string, change func(id string, force bool) (*deployment, error)) (any, error) {
	force, err := boolParam(r, "force", false)
	if err != nil {
		return nil, err
	}
	d, err := change(id, force)
	if err != nil {
		return nil, err
	}
	return deploymentReply(http.StatusOK, d), nil
}

func deploymentReply(status int, d *deployment) reply {
	return reply{status: status, header: http.Header{"Marathon-Deployment-Id": {d.ID}}, body: d.result()}
}

// GET /v2/apps/{id}
func (s *Server) getApp(r *http.Request, l *leader, id string) (any, error) {
	e := parseEmbeds(r.URL.Query()["embed"], "app.", embeds{tasks: true, lastTaskFailure: true})
	e.counts, e.deployments = true, true
	l.mu.RLock()
	defer l.mu.RUnlock()
	a := l.apps[id]
	if a == nil {
		return nil, errAppNotFound(id)
	}
	return map[string]any{"app": l.appView(a, e)}, nil
}

// PUT and PATCH /v2/apps/{id}. PUT with partialUpdate=true (the default) and PATCH change only
// the fields given; PUT with partialUpdate=false replaces the definition. PUT creates the app
// when it does not exist.
func (s *Server) putApp(r *http.Request, l *leader, id string) (any, error) {
	c, err := s.readAppRequest(r)
	if err != nil {
		return nil, err
	}
	var build func(old *marathon.App) (*marathon.App, error)
	if version, ok := rollbackVersion(c.body); ok && !c.patch {
		build, err = s.rollbackBuilder(r, l, id, version)
	} else {
		build, err = appBuilder(id, c.body, c.patch, c.partial)
	}
	if err != nil {
		return nil, err
	}
	d, created, err := l.updateApp(id, build, c.force, s.apiPosted(r))
	if err != nil {
		return nil, err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return deploymentReply(status, d), nil
}

// appRequest is what a PUT or PATCH of apps reads from its request.
type appRequest struct {
	force   bool
	partial bool // partialUpdate: the fields given replace the current ones (default true)
	patch   bool // a PATCH: like partial, and the app must exist
	body    []byte
}

// readAppRequest reads the force and partialUpdate query parameters, the method and the body of
// a PUT or PATCH of apps.
func (s *Server) readAppRequest(r *http.Request) (c appRequest, err error) {
	if c.force, err = boolParam(r, "force", false); err != nil {
		return c, err
	}
	if c.partial, err = boolParam(r, "partialUpdate", true); err != nil {
		return c, err
	}
	c.patch = r.Method == http.MethodPatch
	c.body, err = s.readBody(r)
	return c, err
}

// appBuilder decodes the body of a change of app id and returns how it makes the new
// definition from the current one (nil when there is none): with patch or partial, the fields
// given replace the current ones (PATCH needs an app to change); otherwise the body replaces
// the definition.
func appBuilder(id string, body []byte, patch, partial bool) (func(old *marathon.App) (*marathon.App, error), error) {
	var p *marathon.AppPatch
	var full *marathon.App
	var err error
	if patch || partial {
		if p, err = marathon.DecodeAppPatch(body); err != nil {
			return nil, err
		}
	} else if full, err = marathon.DecodeApp(body); err != nil {
		return nil, err
	}
	return func(old *marathon.App) (*marathon.App, error) {
		var spec *marathon.App
		switch {
		case old == nil && patch:
			return nil, errAppNotFound(id)
		case p != nil && old != nil:
			spec = p.ApplyTo(old.ReadOnlyStripped())
		case p != nil:
			spec = p.App()
		default:
			spec = full.Clone()
		}
		spec.Version, spec.VersionInfo = "", nil
		return completeApp(spec, id)
	}, nil
}

// rollbackVersion reports the version that a PUT body {"version": "..."} asks an app to return
// to, as Marathon's AppUpdate does: a body that names a version rolls the app back to it, whatever
// else it holds.
func rollbackVersion(body []byte) (string, bool) {
	var b struct {
		Version *string `json:"version"`
	}
	if json.Unmarshal(body, &b) != nil || b.Version == nil {
		return "", false
	}
	return *b.Version, true
}

// rollbackBuilder returns a builder that replaces an app's definition with the one it had in
// version, under a new version.
func (s *Server) rollbackBuilder(r *http.Request, l *leader, id, version string) (func(old *marathon.App) (*marathon.App, error), error) {
	v, err := s.appVersion(r, l, id, version)
	if err != nil {
		return nil, err
	}
	spec := v.(*marathon.App)
	return func(old *marathon.App) (*marathon.App, error) {
		if old == nil {
			return nil, errAppNotFound(id)
		}
		back := spec.ReadOnlyStripped()
		return completeApp(back, id)
	}, nil
}

// PUT and PATCH /v2/apps: change (PUT also creates) a list of apps in one deployment, each
// as PUT or PATCH /v2/apps/{id} would. Problems are reported with the app's index: "/(1)/cmd".
func (s *Server) putApps(r *http.Request, l *leader) (any, error) {
	c, err := s.readAppRequest(r)
	if err != nil {
		return nil, err
	}
	var list []json.RawMessage
	if err := json.Unmarshal(c.body, &list); err != nil {
		return nil, &marathon.DecodeError{ValidationError: marathon.ValidationError{Message: marathon.MsgInvalidJSON, Details: []marathon.ErrorDetail{{Path: "/", Errors: []string{"expected a JSON array of apps: " + err.Error()}}}}}
	}
	builds := map[string]func(*marathon.App) (*marathon.App, error){}
	index := map[string]int{}
	for i, raw := range list {
		var head struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &head)
		id, ok := marathon.CanonicalPath(head.ID, "/")
		if head.ID == "" || !ok || id == "/" {
			return nil, &marathon.ValidationError{Message: marathon.MsgInvalidObject, Details: []marathon.ErrorDetail{{Path: fmt.Sprintf("/(%d)/id", i), Errors: []string{"must be a valid app id"}}}}
		}
		if builds[id] != nil {
			return nil, &marathon.ValidationError{Message: marathon.MsgInvalidObject, Details: []marathon.ErrorDetail{{Path: fmt.Sprintf("/(%d)/id", i), Errors: []string{"app " + id + " is listed twice"}}}}
		}
		index[id] = i
		build, err := appBuilder(id, raw, c.patch, c.partial)
		if err != nil {
			return nil, indexed(err, i)
		}
		builds[id] = func(old *marathon.App) (*marathon.App, error) {
			spec, err := build(old)
			return spec, indexed(err, i)
		}
	}
	rolePath := func(id string) string { return fmt.Sprintf("/(%d)/role", index[id]) }
	d, _, err := l.updateApps(builds, rolePath, c.force, s.apiPosted(r))
	if err != nil {
		return nil, err
	}
	return deploymentReply(http.StatusOK, d), nil
}

// indexed prefixes the paths of a validation or decoding error with an index in a list.
func indexed(err error, i int) error {
	var ve *marathon.ValidationError
	var de *marathon.DecodeError
	switch {
	case errors.As(err, &de):
		ve = &de.ValidationError
	case errors.As(err, &ve):
	default:
		return err
	}
	for j := range ve.Details {
		ve.Details[j].Path = fmt.Sprintf("/(%d)%s", i, strings.TrimSuffix(ve.Details[j].Path, "/"))
	}
	return err
}

// GET /v2/apps/{id}/versions
func (s *Server) appVersions(l *leader, id string) (any, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	a := l.apps[id]
	if a == nil {
		return nil, errAppNotFound(id)
	}
	vs := slices.Clone(a.versions)
	slices.SortFunc(vs, func(x, y string) int { return cmp.Compare(y, x) })
	return map[string]any{"versions": vs}, nil
}

// GET /v2/apps/{id}/versions/{version}
func (s *Server) appVersion(r *http.Request, l *leader, id, version string) (any, error) {
	l.mu.RLock()
	a := l.apps[id]
	var cur *marathon.App
	if a != nil && a.spec.Version == version {
		cur = a.spec
	}
	l.mu.RUnlock()
	if a == nil {
		return nil, errAppNotFound(id)
	}
	if cur != nil {
		return cur, nil
	}
	var spec marathon.App
	ok, err := getValue(r.Context(), s.cfg.Etcd, appVersionKey(id, version), &spec)
	if err != nil {
		return nil, fmt.Errorf("reading app %s version %s: %w", id, version, err)
	}
	if !ok {
		return nil, &apiError{Status: http.StatusNotFound, Body: msg("App '%s' does not exist in version %s", id, version)}
	}
	return &spec, nil
}
