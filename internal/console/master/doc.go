// Package master is the master's web console, in the manner of the Mesos web UI: the leading
// master and its standbys, the agents with their attributes and resources, the frameworks, the
// active and completed tasks, and each task's sandbox, with a live tail of its logs.
//
// Handler serves the pages (html/template) and their assets (plain JS and CSS), all embedded in
// the binary: no build step and nothing loaded from elsewhere. The master mounts it at / and
// /console/. Every page is a small server-rendered frame whose script fetches what it shows
// from the same origin and refreshes it every couple of seconds:
//
//	/master/state                   agents, frameworks and tasks
//	/master/masters                 the leader and the standbys, the etcd members
//	/agent/{id}/state               the agent's executors, for a task's sandbox directory
//	/agent/{id}/files/browse|read   sandbox listings and file pages (the log tail)
//
// The console sends no credentials of its own: requests carry only what the browser attaches
// to a same-origin request (a session cookie), never a token in a URL, and the Content Security
// Policy forbids connections to any other origin. Redirecting a standby's pages to the leader
// is the mounting master's work.
package master
