// Package client holds Go clients for Marina's HTTP APIs, used by the CLI, by frameworks and by
// tests. Subpackages speak one API each: scheduler speaks the Mesos v1 scheduler API.
package client
