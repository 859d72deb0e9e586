// Package coord is Marina's ZooKeeper role: an embedded etcd member per master node (or a client of
// an external etcd cluster), leader election on top of it, and small helpers for typed, fenced
// storage.
//
// Nothing here implements consensus: etcd does. Start brings up (or connects to) etcd and returns a
// client; an Elector campaigns for a role's leadership and hands the winner a Term whose context is
// cancelled the moment leadership is lost; writes made through a Term succeed only while its holder
// still leads, so a deposed leader can never overwrite its successor's state.
package coord
