// Package scheduler is a client of the Mesos v1 scheduler HTTP API (POST /api/v1/scheduler).
//
// Subscribe finds the leading master through any of the configured masters (following 307
// redirects), opens the SUBSCRIBE stream and decodes its RecordIO events onto a channel. Calls on
// the returned Stream carry its Mesos-Stream-Id and framework id. When the stream ends (the master
// failed over, the connection broke) the Events channel closes and Err says why; the framework
// subscribes again with the id it was given, as Mesos frameworks do.
package scheduler
