// Package master is the master's web console, in the manner of the Mesos web UI: the leading
// master and its standbys, the agents with their attributes and resources, the frameworks, the
// active and completed tasks, and each task's sandbox, with a live tail of its files.
//
// Handler serves six pages (overview, agents, agent, frameworks, tasks, sandbox) with the shared
// layout of package console, and their assets: console's base.css and console.js, and this
// console's master.css, master.js (its helpers) and one script per page, all embedded. The
// master mounts it at / and under Prefix. Each page's script builds the page in #main and
// refreshes it from the same origin every couple of seconds:
//
//	/master/state                   agents, frameworks and tasks
//	/master/masters                 the leader and the standbys, the etcd members
//	/agent/{id}/state               the agent's executors: a task's sandbox directory
//	/agent/{id}/files/browse|read   sandbox listings, and files read from an offset (the tail)
//
// The console sends no credentials of its own: requests carry only what the browser attaches
// to a same-origin request (a session cookie), never a token in a URL, and the Content Security
// Policy forbids connections to other origins. Redirecting a standby's pages to the leader is
// the mounting master's work; a page whose master stops leading moves to the new leader.
package master
