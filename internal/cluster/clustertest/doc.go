// Package clustertest holds the conformance suite every cluster.Provider passes: Run makes a
// small cluster through the provider, checks what the provider reports about it, and destroys
// it. A new provider (docker, ssh, azure) gets a test that calls Run with it.
package clustertest
