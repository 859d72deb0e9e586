// Package allocator decides which framework is offered which agent's free resources.
//
// It owns the master's resource accounting: every agent's total, what is allocated on it to
// each framework and role (outstanding offers and running tasks alike), and so what is free. It
// implements weighted, hierarchical Dominant Resource Fairness as Mesos does: a pass picks the
// role with the lowest weighted dominant share, then within it the framework with the lowest
// dominant share, and offers it all of an agent's free resources.
//
// Data enters through method calls the master makes under its own lock as agents register and
// leave, frameworks subscribe, offers are declined or rescinded and tasks end; it leaves as the
// []Offer a Run returns and the Free/Used/Total/DominantShare queries. The Allocator is pure
// and deterministic: it starts no goroutines, takes no locks, does no I/O and never reads the
// clock (Run and Filter take the time).
package allocator
