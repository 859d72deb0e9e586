package master

import (
	"context"
	"net/http"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// GET /master/masters answers who the masters are, from what etcd knows, on any master: the
// candidates of the election (each running master campaigns with its URL; the oldest candidate
// leads, the others stand by) and the etcd members behind them (a stopped master's member stays
// listed while its candidate is gone).

type mastersJSON struct {
	Self    string       `json:"self"`   // this master's URL
	Leader  string       `json:"leader"` // the leading master's URL, "" when none is known
	Masters []masterPeer `json:"masters"`
	Etcd    []etcdMember `json:"etcd_members"`
	// Errors lists what could not be read from etcd; the lists above are then partial.
	Errors []string `json:"errors,omitempty"`
}

type masterPeer struct {
	URL    string `json:"url"`
	Leader bool   `json:"leader"`
	Self   bool   `json:"self"`
}

type etcdMember struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peer_urls"`
	ClientURLs []string `json:"client_urls"`
	Leader     bool     `json:"leader"` // the raft leader, as this master's etcd endpoint sees it
	Learner    bool     `json:"learner"`
}

// peersTimeout bounds the etcd reads of /master/masters.
const peersTimeout = 3 * time.Second

func (m *Master) handleMasters(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := requireGet(r); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), peersTimeout)
	defer cancel()
	out := mastersJSON{Self: m.URL(), Leader: m.Leader(), Masters: []masterPeer{}, Etcd: []etcdMember{}}
	cli := m.cfg.Etcd

	resp, err := cli.Get(ctx, LeaderPrefix+"/", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		out.Errors = append(out.Errors, "election candidates: "+err.Error())
	} else {
		seen := map[string]bool{}
		for i, kv := range resp.Kvs {
			u := string(kv.Value)
			if seen[u] {
				continue // a previous session's key, not yet expired
			}
			seen[u] = true
			out.Masters = append(out.Masters, masterPeer{URL: u, Leader: i == 0, Self: u == out.Self})
		}
	}

	members, err := cli.MemberList(ctx)
	if err != nil {
		out.Errors = append(out.Errors, "etcd members: "+err.Error())
		return out, nil
	}
	var raftLeader uint64
	if eps := cli.Endpoints(); len(eps) > 0 {
		if st, err := cli.Status(ctx, eps[0]); err == nil {
			raftLeader = st.Leader
		} else {
			out.Errors = append(out.Errors, "etcd status: "+err.Error())
		}
	}
	for _, mb := range members.Members {
		out.Etcd = append(out.Etcd, etcdMember{
			ID:         strconv.FormatUint(mb.ID, 16),
			Name:       mb.Name,
			PeerURLs:   nonNil(mb.PeerURLs),
			ClientURLs: nonNil(mb.ClientURLs),
			Leader:     mb.ID == raftLeader,
			Learner:    mb.IsLearner,
		})
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
