// Package services is the services role: a Marathon-compatible framework.
package services
