// Package detect finds the leading master for the masters' clients (agents, schedulers).
//
// Leader asks every master at once where the leader is (GET /master/redirect) and trusts only
// the leader's own word: a master that names itself. A standby that names another master is
// hearsay: that master is asked in turn, and its answer decides. A dead master never delays the
// answer (it is asked in parallel, not first), and a standby that still names a leader that died
// never sends the caller to it. The whole detection is bounded by Timeout.
package detect
