// Package scheduler is a client of the Mesos v1 scheduler HTTP API (POST /api/v1/scheduler).
//
// Subscribe finds the leading master by asking every configured master at once (package detect:
// a dead master delays nothing), opens the SUBSCRIBE stream there (following 307 redirects) and
// decodes its RecordIO events onto a channel; SUBSCRIBED must arrive within a bound. Calls on the
// returned Stream carry its Mesos-Stream-Id and framework id, and end with the stream, or after
// a bound when the master does not answer. When the stream ends (the master failed over, the
// connection broke) the Events channel closes and Err says why; the framework subscribes again
// with the id it was given, as Mesos frameworks do. A master that dies without closing its
// sockets leaves the stream silent: SUBSCRIBED advertises the master's heartbeat interval, and
// the framework should close the stream after a few missed heartbeats.
package scheduler
