// Package pki is a cluster's small certificate authority: it makes the cluster CA (ECDSA P-256),
// issues node certificates that carry the node's IP addresses and DNS names and serve both as
// server and as client certificates, and reads and writes them as PEM files (private keys mode
// 0600). Nodes turn the files into tls.Configs with LoadNode: servers verify the certificates
// clients present against the CA, and clients verify servers against it and present their own,
// which gives mutual TLS between nodes.
//
//	ca, _ := pki.NewCA("marina cluster", time.Now())
//	_ = ca.Write("ca.pem", "ca-key.pem")
//	kp, _ := ca.Issue(pki.Request{CommonName: "master-1", IPs: []net.IP{ip}}, time.Now())
//	_ = kp.Write("master-1.pem", "master-1-key.pem")
//	n, _ := pki.LoadNode("master-1.pem", "master-1-key.pem", "ca.pem")
//	srv := &http.Server{TLSConfig: n.ServerConfig()}
package pki
