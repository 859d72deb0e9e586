// Package testutil holds helpers shared by Marina's tests: free ports, polling with a deadline,
// and loggers that write through testing.T.
package testutil
