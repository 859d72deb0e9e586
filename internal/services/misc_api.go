package services

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// GET /v2/deployments
func (s *Server) listDeployments(_ *http.Request, l *leader) (any, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]marathon.Deployment, 0, len(l.deployments))
	for _, d := range l.deployments {
		out = append(out, d.info(l.readinessResults))
	}
	slices.SortFunc(out, func(a, b marathon.Deployment) int { return strings.Compare(a.Version, b.Version) })
	return out, nil
}

// DELETE /v2/deployments/{id}
func (s *Server) deleteDeployment(r *http.Request, l *leader) (any, error) {
	force, err := boolParam(r, "force", false)
	if err != nil {
		return nil, err
	}
	d, err := l.cancelDeployment(r.PathValue("id"), force)
	if err != nil {
		return nil, err
	}
	if force {
		return reply{status: http.StatusAccepted}, nil
	}
	return deploymentReply(http.StatusOK, d), nil
}

// hostPort returns the host:port of a URL, as Marathon names leaders.
func hostPort(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}

// GET /v2/leader, answered by any instance.
func (s *Server) getLeader(w http.ResponseWriter, _ *http.Request) {
	leader := s.Leader()
	if leader == "" {
		writeJSON(w, http.StatusNotFound, msg("There is no leader"))
		return
	}
	writeJSON(w, http.StatusOK, marathon.LeaderInfo{Leader: hostPort(leader)})
}

// DELETE /v2/leader: the leader steps down; another instance is elected.
func (s *Server) deleteLeader(_ *http.Request, l *leader) (any, error) {
	s.abdicate()
	return msg("Leadership abdicated"), nil
}

// GET /v2/info
func (s *Server) getInfo(_ *http.Request, l *leader) (any, error) {
	l.mu.RLock()
	fid := l.frameworkID
	l.mu.RUnlock()
	master := strings.Join(s.cfg.Masters, ",")
	leaderUI := ""
	if st := l.stream.Load(); st != nil {
		leaderUI = st.Leader() + "/"
	}
	port := 0
	if _, p, err := splitHostPort(hostPort(s.url)); err == nil {
		port, _ = strconv.Atoi(p)
	}
	return marathon.Info{
		Name:        "marina",
		Version:     Version,
		BuildRef:    "unknown",
		Elected:     true,
		Leader:      hostPort(s.url),
		FrameworkID: fid,
		MarathonConfig: marathon.MarathonConfig{
			Checkpoint:              new(true),
			DeclineOfferDuration:    new(int64(refuseIdle * 1000)),
			EnvVarsPrefix:           "",
			Executor:                "//cmd",
			FailoverTimeout:         new(int64(s.cfg.FailoverTimeout.Seconds())),
			Features:                []string{},
			FrameworkName:           s.cfg.FrameworkName,
			HA:                      new(true),
			Hostname:                s.frameworkInfo().Hostname,
			LocalPortMax:            new(servicePortMax),
			LocalPortMin:            new(servicePortMin),
			Master:                  master,
			MesosLeaderUIURL:        leaderUI,
			MesosRole:               "*",
			MesosUser:               "root",
			ReconciliationInterval:  new(s.cfg.ReconcileInterval.Milliseconds()),
			TaskLostExpungeInterval: 30000,
			WebUIURL:                s.url,
		},
		ZooKeeperConfig: marathon.ZooKeeperConfig{ZK: "etcd://" + leaderPrefix, ZKMaxVersions: maxVersions},
		HTTPConfig:      marathon.HTTPConfig{HTTPPort: port},
	}, nil
}

// GET /v2/queue: the apps with instances waiting for an offer, what the offers considered for
// them said, and with embed=lastUnusedOffers the last offers they could not use and why.
func (s *Server) getQueue(r *http.Request, l *leader) (any, error) {
	withOffers := slices.Contains(r.URL.Query()["embed"], "lastUnusedOffers")
	now := s.now()
	l.mu.RLock()
	defer l.mu.RUnlock()
	ids := make([]string, 0)
	for id, a := range l.apps {
		if a.queued > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	q := marathon.Queue{Queue: []marathon.QueueItem{}}
	for _, id := range ids {
		a := l.apps[id]
		left := max(0, a.backoff.LaunchAfter.Sub(now))
		item := marathon.QueueItem{
			App:                    a.spec,
			Count:                  a.queued,
			Role:                   a.spec.Role,
			Delay:                  marathon.QueueDelay{TimeLeftSeconds: int64(left.Seconds()), Overdue: left == 0},
			Since:                  a.spec.Version,
			ProcessedOffersSummary: a.offerLog.summary(),
		}
		if withOffers {
			item.LastUnusedOffers = a.offerLog.lastUnusedOffers
		}
		q.Queue = append(q.Queue, item)
	}
	return q, nil
}

// DELETE /v2/queue/{appId}/delay: the app's launch backoff ends now; its queued instances are
// launched on the next offers. 404 when the app has no delay.
func (s *Server) resetQueueDelay(r *http.Request, l *leader) (any, error) {
	path, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v2/queue"), "/delay")
	if !ok {
		return nil, &apiError{Status: http.StatusNotFound, Body: msg("Not found: %s %s", r.Method, r.URL.Path)}
	}
	id, _ := marathon.CanonicalPath(path, "/")
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.apps[id]
	if a == nil || a.backoff == (backoff{}) {
		return nil, &apiError{Status: http.StatusNotFound, Body: msg("Application %s not found in tasks queue.", id)}
	}
	a.backoff = backoff{}
	if a.queued > 0 {
		l.demandSeq++
		l.poke()
	}
	return reply{status: http.StatusNoContent}, nil
}
