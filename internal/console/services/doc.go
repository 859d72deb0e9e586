// Package services is the services web console: a Marathon-style UI served at /ui/ by every
// services instance (GET / redirects there, as Marathon does).
//
// The console is one HTML page (the shared layout of package console) whose scripts route on the
// URL fragment (#/apps, #/app/<id>, #/new, #/edit/<id>, #/deployments, #/sandbox): services.js
// holds the router, the live refresh and the shared helpers, and apps.js, app.js, edit.js and
// deployments.js one page each. They talk only to the same origin's Marathon /v2 REST API, so a
// standby's proxying to the leader and cookie authentication apply to it unchanged. Pages follow
// /v2/events (Server-Sent Events) and reload what they show when an event concerns it.
//
// Apps are shown in folders derived from their ids' path segments. Creating and editing an app
// works as a form or as raw JSON; the server's 422 details are shown next to the fields whose
// JSON paths they name.
//
// A task's stdout and stderr are read through this package's server (GET
// /ui/api/tasks/{task}/files/{stdout|stderr}?offset=N): it finds the task's agent and sandbox in
// the leading master's /master/state and reads the file through the master's agent proxy
// (/agent/<agent-id>/files/read), with the cluster's token, which the browser never sees. Each
// task also links to the master console's sandbox page, which browses every file.
package services
