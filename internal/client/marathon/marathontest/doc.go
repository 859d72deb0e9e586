// Package marathontest is a scripted fake of the Marathon REST API v2 for tests of clients and
// the CLI: an httptest server that answers each method and path with the reply a test set
// (bodies often the shared Marathon examples, read with Example), records every request, and
// serves /v2/events as Server-Sent Events that the test publishes.
//
// It holds no Marathon logic: a test says what the server answers, and checks what the client
// sent.
package marathontest
