package services

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// wantsText reports whether the client asked for Marathon's text/plain task listing.
func wantsText(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "text/plain") && !strings.Contains(a, "application/json")
}

// textTasks renders tasks as Marathon's text/plain listing: per app and service port, a line
// "<app id without slashes> <service port> <host:port>...".
func textTasks(l *leader, ids []string) string {
	var b strings.Builder
	for _, id := range ids {
		a := l.apps[id]
		if a == nil {
			continue
		}
		sps := servicePorts(a.spec)
		insts := l.appInstances(id)
		name := strings.ReplaceAll(strings.TrimPrefix(id, "/"), "/", "_")
		if len(sps) == 0 {
			sps = []int{0}
		}
		for i, sp := range sps {
			fmt.Fprintf(&b, "%s\t%d\t", name, sp)
			for _, in := range insts {
				if in.State == mesos.TaskRunning && i < len(in.Ports) {
					fmt.Fprintf(&b, "%s:%d\t", in.Host, in.Ports[i])
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// textReply answers text/plain.
type textReply string

// GET /v2/apps/{id}/tasks
func (s *Server) appTasks(r *http.Request, l *leader, id string) (any, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	a := l.apps[id]
	if a == nil {
		return nil, errAppNotFound(id)
	}
	if wantsText(r) {
		return textReply(textTasks(l, []string{id})), nil
	}
	insts := l.appInstances(id)
	tasks := make([]marathon.Task, 0, len(insts))
	for _, in := range insts {
		tasks = append(tasks, in.task(a.spec))
	}
	return marathon.TaskList{Tasks: tasks}, nil
}

// GET /v2/tasks?status=running|staging
func (s *Server) listTasks(r *http.Request, l *leader) (any, error) {
	q := r.URL.Query()
	statuses := append(q["status"], q["status[]"]...)
	l.mu.RLock()
	defer l.mu.RUnlock()
	ids := make([]string, 0, len(l.byApp))
	for id := range l.byApp {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if wantsText(r) {
		return textReply(textTasks(l, ids)), nil
	}
	tasks := []marathon.Task{}
	for _, id := range ids {
		var spec *marathon.App
		if a := l.apps[id]; a != nil {
			spec = a.spec
		}
		for _, in := range l.appInstances(id) {
			if len(statuses) > 0 && !slices.ContainsFunc(statuses, func(st string) bool { return statusMatches(st, in.State) }) {
				continue
			}
			tasks = append(tasks, in.task(spec))
		}
	}
	return marathon.TaskList{Tasks: tasks}, nil
}

func statusMatches(filter string, s mesos.TaskState) bool {
	switch strings.ToLower(filter) {
	case "running":
		return s == mesos.TaskRunning
	case "staging":
		return s == mesos.TaskStaging || s == mesos.TaskStarting
	}
	return strings.EqualFold("TASK_"+filter, string(s))
}

// DELETE /v2/apps/{id}/tasks and /v2/apps/{id}/tasks/{taskId}
func (s *Server) killAppTasks(r *http.Request, l *leader, appID, taskID string) (any, error) {
	scale, force, err := killParams(r)
	if err != nil {
		return nil, err
	}
	if wipe, _ := boolParam(r, "wipe", false); wipe && scale {
		return nil, &apiError{Status: http.StatusBadRequest, Body: msg("You cannot use scale and wipe at the same time.")}
	}
	host := r.URL.Query().Get("host")
	l.mu.RLock()
	a := l.apps[appID]
	var ids []string
	if taskID != "" {
		if in := l.instances[taskID]; in != nil && in.AppID == appID {
			ids = append(ids, taskID)
		}
	} else {
		for _, in := range l.appInstances(appID) {
			if host == "" || in.Host == host {
				ids = append(ids, in.TaskID)
			}
		}
	}
	l.mu.RUnlock()
	if a == nil {
		return nil, errAppNotFound(appID)
	}
	if taskID != "" && len(ids) == 0 {
		return nil, errTaskNotFound(taskID)
	}
	return kill(l, ids, scale, force, a.spec, taskID != "")
}

// POST /v2/tasks/delete
func (s *Server) deleteTasks(r *http.Request, l *leader) (any, error) {
	scale, force, err := killParams(r)
	if err != nil {
		return nil, err
	}
	body, err := s.readBody(r)
	if err != nil {
		return nil, err
	}
	var req marathon.DeleteTasks
	if err := marathon.DecodeResponse(body, &req); err != nil {
		return nil, err
	}
	return kill(l, req.IDs, scale, force, nil, false)
}

// killParams reads the scale and force query parameters of a kill.
func killParams(r *http.Request) (scale, force bool, err error) {
	if scale, err = boolParam(r, "scale", false); err != nil {
		return false, false, err
	}
	force, err = boolParam(r, "force", false)
	return scale, force, err
}

// kill kills tasks and answers as Marathon does: with the deployment that scales their apps
// down when scale is set and one started, otherwise with the tasks killed (single: the one
// task), each shown with spec or, when it is nil, its app's current definition.
func kill(l *leader, ids []string, scale, force bool, spec *marathon.App, single bool) (any, error) {
	killed, deps, err := l.killTasks(ids, scale, force)
	if err != nil {
		return nil, err
	}
	if scale && len(deps) > 0 {
		return deploymentReply(http.StatusOK, deps[0]), nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	tasks := make([]marathon.Task, len(killed))
	for i, in := range killed {
		s := spec
		if a := l.apps[in.AppID]; s == nil && a != nil {
			s = a.spec
		}
		tasks[i] = in.task(s)
	}
	if single {
		return marathon.TaskSingle{Task: tasks[0]}, nil
	}
	return marathon.TaskList{Tasks: tasks}, nil
}
