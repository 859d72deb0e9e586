package node

import (
	"crypto/tls"

	"github.com/marina-dcos/marina/internal/agent"
	"github.com/marina-dcos/marina/internal/pki"
)

// AgentTLS loads an agent node's certificate, key and cluster CA into cfg: the agent's API
// serves https and verifies nodes' certificates, and its stream to the master presents the
// node's certificate and trusts only the cluster CA. Files that are all empty leave cfg as is.
func AgentTLS(cfg *agent.Config, files pki.Files) error {
	if !files.Enabled() {
		return nil
	}
	id, err := files.Load()
	if err != nil {
		return err
	}
	cfg.TLSConfig, cfg.ClientTLS = serverTLS(id), clientTLS(id)
	return nil
}

// serverTLS returns the listeners' TLS config of a node identity; nil without one.
func serverTLS(id *pki.Node) *tls.Config {
	if id == nil {
		return nil
	}
	return id.ServerConfig()
}

// clientTLS returns the TLS config for calls to other nodes; nil without an identity.
func clientTLS(id *pki.Node) *tls.Config {
	if id == nil {
		return nil
	}
	return id.ClientConfig()
}
