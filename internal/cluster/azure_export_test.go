package cluster

// UserData exposes node n's cloud-init to the external tests.
func (a *Azure) UserData(c *Cluster, n *Node) ([]byte, error) { return a.userData(c, n) }

// SetBinaryURL points the nodes at a test's own server (plain http on a test network, which
// the settings refuse).
func (a *Azure) SetBinaryURL(u string) { a.s.binaryURL = u }
