package services

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/coord"
)

// Keys in etcd. Every write goes through the leader's coord.Term, so a deposed leader cannot
// overwrite its successor's state.
const (
	prefix            = "/marina/services/"
	leaderPrefix      = prefix + "leader"
	frameworkIDKey    = prefix + "framework-id"
	appsPrefix        = prefix + "apps/"
	instancesPrefix   = prefix + "instances/"
	deploymentsPrefix = prefix + "deployments/"
	groupsPrefix      = prefix + "groups/"
	groupVersionsPfx  = prefix + "group-versions/"

	// maxTxnOps stays under etcd's default limit of 128 operations per transaction.
	maxTxnOps = 100
	// maxVersions is how many versions of an app or a group (the root included) are kept, as
	// Marathon's max_versions (formerly zk_max_versions) default.
	maxVersions = 50
	// maxGroupVersionBytes bounds a stored version of a group's tree (encoded, gzipped), well
	// under etcd's default request limit of 1.5 MiB.
	maxGroupVersionBytes = 512 << 10
)

// appKey returns the key prefix of an app: its id without the leading slash.
func appKey(id string) string { return appsPrefix + strings.TrimPrefix(id, "/") }

func appCurrentKey(id string) string          { return appKey(id) + "/current" }
func appFailureKey(id string) string          { return appKey(id) + "/last-failure" }
func appVersionKey(id, version string) string { return appKey(id) + "/versions/" + version }
func instanceKey(taskID string) string        { return instancesPrefix + taskID }
func deploymentKey(id string) string          { return deploymentsPrefix + id }

// groupName returns a group's name in keys: "root" followed by its id ("root" for "/",
// "root/prod" for "/prod"). A group is at groups/<name>, its versions at
// group-versions/<name>/<version>.
func groupName(id string) string                { return "root" + strings.TrimSuffix(id, "/") }
func groupCurrentKey(id string) string          { return groupsPrefix + groupName(id) }
func groupVersionsKey(id string) string         { return groupVersionsPfx + groupName(id) + "/" }
func groupVersionKey(id, version string) string { return groupVersionsKey(id) + version }

// currentPointer is the value at an app's current key.
type currentPointer struct {
	Version string `json:"version"`
}

// compressAbove is the size beyond which a value is stored gzipped, to stay well under etcd's
// request limit (1.5 MiB by default): the definitions a deployment or a group version of a
// thousand apps carries are megabytes of JSON, which shrink tenfold.
const compressAbove = 64 << 10

// jsonAppender is a value that appends its own JSON, trusted as it is (encoding/json would
// validate and compact it again).
type jsonAppender interface {
	appendJSON(b []byte) ([]byte, error)
}

// encodeValue encodes a value as it is stored: JSON, gzipped beyond compressAbove (at the best
// speed: a group version of a thousand apps is encoded at every change).
func encodeValue(v any) ([]byte, error) {
	var b []byte
	var err error
	if a, ok := v.(jsonAppender); ok {
		b, err = a.appendJSON(nil)
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil || len(b) <= compressAbove {
		return b, err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeValue decodes a stored value, gzipped (told by its magic number, which JSON never
// starts with) or not.
func decodeValue(b []byte, v any) error {
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return err
		}
		if b, err = io.ReadAll(zr); err != nil {
			return err
		}
	}
	return json.Unmarshal(b, v)
}

// getValue reads the value at key into v; it reports false when there is none.
func getValue(ctx context.Context, kv clientv3.KV, key string, v any) (bool, error) {
	resp, err := kv.Get(ctx, key)
	if err != nil || len(resp.Kvs) == 0 {
		return false, err
	}
	if err := decodeValue(resp.Kvs[0].Value, v); err != nil {
		return false, fmt.Errorf("services: decode %s: %w", key, err)
	}
	return true, nil
}

// snapshot is everything the services role persists, as a new leader loads it.
type snapshot struct {
	frameworkID string
	apps        map[string]*app
	instances   map[string]*instance
	deployments map[string]*deployment
	groups      map[string]*group
}

// load reads the whole persisted state.
func load(ctx context.Context, kv clientv3.KV) (*snapshot, error) {
	s := &snapshot{apps: map[string]*app{}, instances: map[string]*instance{}, deployments: map[string]*deployment{}, groups: map[string]*group{}}
	var fid string
	if _, err := coord.GetJSON(ctx, kv, frameworkIDKey, &fid); err != nil {
		return nil, fmt.Errorf("services: load framework id: %w", err)
	}
	s.frameworkID = fid

	raw, err := coord.List(ctx, kv, appsPrefix)
	if err != nil {
		return nil, fmt.Errorf("services: load apps: %w", err)
	}
	currents := map[string]string{}            // app id -> current version
	versions := map[string]map[string][]byte{} // app id -> version -> definition
	failures := map[string]*marathon.TaskFailure{}
	for key, val := range raw {
		if id, ok := strings.CutSuffix(key, "/last-failure"); ok {
			var f marathon.TaskFailure
			if err := decodeValue(val, &f); err == nil {
				failures["/"+id] = &f
			}
			continue
		}
		if id, ok := strings.CutSuffix(key, "/current"); ok {
			var p currentPointer
			if err := decodeValue(val, &p); err != nil {
				return nil, fmt.Errorf("services: app %s: current pointer: %w", id, err)
			}
			currents["/"+id] = p.Version
			continue
		}
		i := strings.LastIndex(key, "/versions/")
		if i < 0 {
			continue
		}
		id, v := "/"+key[:i], key[i+len("/versions/"):]
		if versions[id] == nil {
			versions[id] = map[string][]byte{}
		}
		versions[id][v] = val
	}
	for id, cur := range currents {
		def, ok := versions[id][cur]
		if !ok {
			return nil, fmt.Errorf("services: app %s: current version %s is missing", id, cur)
		}
		var spec marathon.App
		if err := decodeValue(def, &spec); err != nil {
			return nil, fmt.Errorf("services: app %s version %s: %w", id, cur, err)
		}
		a := &app{spec: &spec, lastFailure: failures[id]}
		for v := range versions[id] {
			a.versions = append(a.versions, v)
		}
		slices.Sort(a.versions)
		s.apps[id] = a
	}

	raw, err = coord.List(ctx, kv, instancesPrefix)
	if err != nil {
		return nil, fmt.Errorf("services: load instances: %w", err)
	}
	for id, val := range raw {
		var in instance
		if err := decodeValue(val, &in); err != nil {
			return nil, fmt.Errorf("services: instance %s: %w", id, err)
		}
		s.instances[in.TaskID] = &in
	}

	raw, err = coord.List(ctx, kv, deploymentsPrefix)
	if err != nil {
		return nil, fmt.Errorf("services: load deployments: %w", err)
	}
	for id, val := range raw {
		var d deployment
		if err := decodeValue(val, &d); err != nil {
			return nil, fmt.Errorf("services: deployment %s: %w", id, err)
		}
		s.deployments[d.ID] = &d
	}
	if err := s.loadGroups(ctx, kv); err != nil {
		return nil, err
	}
	return s, nil
}

// loadGroups reads the groups and the versions each has.
func (s *snapshot) loadGroups(ctx context.Context, kv clientv3.KV) error {
	raw, err := coord.List(ctx, kv, groupsPrefix)
	if err != nil {
		return fmt.Errorf("services: load groups: %w", err)
	}
	for key, val := range raw {
		var g group
		if err := decodeValue(val, &g); err != nil {
			return fmt.Errorf("services: group %s: %w", key, err)
		}
		s.groups[g.ID] = &g
	}
	if s.groups["/"] == nil {
		s.groups["/"] = &group{ID: "/"} // the root always is, with the versions it has
	}
	resp, err := kv.Get(ctx, groupVersionsPfx, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return fmt.Errorf("services: load group versions: %w", err)
	}
	for _, kv := range resp.Kvs {
		key := strings.TrimPrefix(string(kv.Key), groupVersionsPfx)
		i := strings.LastIndex(key, "/")
		name, version := key[:max(i, 0)], key[i+1:]
		if g := s.groups[cmp.Or(strings.TrimPrefix(name, "root"), "/")]; g != nil {
			g.versions = append(g.versions, version)
		}
	}
	for _, g := range s.groups {
		slices.Sort(g.versions)
	}
	return nil
}

// ops collects the writes of one state change, to commit in as few transactions as possible.
// A later write of a key replaces an earlier one: etcd refuses a transaction naming a key twice.
type ops struct {
	list   []clientv3.Op
	at     map[string]int // key -> index in list
	err    error
	events []event // published once the writes are committed
}

// emit queues an event for publication after the commit.
func (o *ops) emit(e event) { o.events = append(o.events, e) }

func (o *ops) add(key string, op clientv3.Op) {
	if o.at == nil {
		o.at = map[string]int{}
	}
	if i, ok := o.at[key]; ok {
		o.list[i] = op
		return
	}
	o.at[key] = len(o.list)
	o.list = append(o.list, op)
}

func (o *ops) put(key string, v any) {
	b, err := encodeValue(v)
	if err != nil {
		if o.err == nil {
			o.err = fmt.Errorf("services: encode %s: %w", key, err)
		}
		return
	}
	o.putEncoded(key, b)
}

// putEncoded stores a value encodeValue encoded.
func (o *ops) putEncoded(key string, b []byte) { o.add(key, clientv3.OpPut(key, string(b))) }

func (o *ops) del(key string) { o.add(key, clientv3.OpDelete(key)) }

func (o *ops) putInstance(in *instance) { o.put(instanceKey(in.TaskID), in) }
func (o *ops) delInstance(in *instance) { o.del(instanceKey(in.TaskID)) }

func (o *ops) putDeployment(d *deployment) { o.put(deploymentKey(d.ID), d) }
func (o *ops) delDeployment(d *deployment) { o.del(deploymentKey(d.ID)) }

// putAppVersion stores a new version of an app and points its current key at it.
func (o *ops) putAppVersion(spec *marathon.App) {
	o.put(appVersionKey(spec.ID, spec.Version), spec)
	o.put(appCurrentKey(spec.ID), currentPointer{Version: spec.Version})
}

// delAppVersion forgets an old version of an app.
func (o *ops) delAppVersion(id, version string) { o.del(appVersionKey(id, version)) }

// delApp deletes an app with every version.
func (o *ops) delApp(id string) {
	o.del(appCurrentKey(id))
	o.del(appFailureKey(id))
	o.add(appKey(id)+"/versions/*", clientv3.OpDelete(appKey(id)+"/versions/", clientv3.WithPrefix()))
}

// putGroup stores a group (not a version of its tree: recordGroupVersion).
func (o *ops) putGroup(g *group) { o.put(groupCurrentKey(g.ID), g) }

// delGroup deletes a group with every version.
func (o *ops) delGroup(id string) {
	o.del(groupCurrentKey(id))
	o.add(groupVersionsKey(id)+"*", clientv3.OpDelete(groupVersionsKey(id), clientv3.WithPrefix()))
}

func (o *ops) empty() bool { return len(o.list) == 0 && o.err == nil && len(o.events) == 0 }

// commit applies the collected writes through the term, maxTxnOps at a time, and resets o.
func (o *ops) commit(ctx context.Context, t coord.Term) error {
	defer func() { o.list, o.at, o.err, o.events = nil, nil, nil, nil }()
	if o.err != nil {
		return o.err
	}
	for len(o.list) > 0 {
		n := min(len(o.list), maxTxnOps)
		if err := t.Do(ctx, o.list[:n]...); err != nil {
			return fmt.Errorf("services: persist: %w", err)
		}
		o.list = o.list[n:]
	}
	return nil
}
