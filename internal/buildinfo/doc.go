// Package buildinfo tells what the running binary was built from, as the masters' and agents'
// /version endpoints report it.
package buildinfo
