// Package mesos holds the wire types of the Mesos v1 HTTP APIs as Marina speaks them: resources,
// attributes, offers, tasks and their statuses, the scheduler API's calls and events, the
// master<->agent stream's calls and events, and RecordIO framing.
//
// The JSON field names are exactly those Mesos emits (snake_case, proto3 JSON mapping), so
// existing frameworks and tools interoperate unchanged. The package is a leaf: it imports nothing
// from Marina and holds no state; validation and arithmetic live beside the types.
package mesos
