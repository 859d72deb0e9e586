// Package testcluster runs a whole Marina cluster inside a test process: N master nodes (each with
// its own embedded etcd member, on dynamic ports) and M agents (each on its own loopback address,
// with its own work dir and port range), started through the same node package the binary uses.
//
// Faults: stop or restart any master or agent (a restarted agent recovers its checkpointed tasks),
// cut an agent off from the masters and heal it, and (Options.SilentDeath) kill a master as its
// machine would die, without closing a socket: KillMasterSilently. Test packages that start agents must run the
// task supervisor hook first:
//
//	func TestMain(m *testing.M) { supervisor.MaybeRun(); os.Exit(m.Run()) }
package testcluster
