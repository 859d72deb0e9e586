// Package marathon is a client of the Marathon REST API v2 as Marina's services role serves it
// on :8080 (any Marathon-compatible server works). The CLI and the tests use it.
//
// A Client is made with New from the URLs of any services instances: standbys proxy to the
// leader, so any instance will do, and a request whose connection fails is tried on the next
// URL (GET on any transport error; other methods only when the connection could not be made, so
// that a change is never sent twice). Requests carry the configured token as a Bearer
// Authorization header.
//
// Data enters as Marathon's JSON, decoded leniently into the wire types of
// internal/api/marathon, so that fields a newer server adds do not break an older client.
// Response bodies are read up to a limit. Answers other than 2xx become an *APIError with the
// status, message and every {path, errors} detail of a 400 or 422; errors.Is(err, ErrNotFound)
// (ErrConflict, ErrInvalid, ErrUnauthorized) and the Is* predicates tell them apart.
//
// Changes that start a deployment (create, update, scale, restart, delete, kill with scale)
// return a *Result with the deployment's id. WaitForDeployment follows a deployment on the
// /v2/events stream until deployment_success or deployment_failed, and polls /v2/deployments
// every two seconds as well, so that an event lost with a broken stream does not hang it.
//
// Events subscribes to /v2/events and parses the Server-Sent Events stream with an
// EventReader: event, data, id and retry fields, comments (keepalives) skipped. When the stream
// ends the channel closes; reconnecting is the caller's job.
//
//	c, err := marathon.New(marathon.Config{URLs: []string{"http://127.0.0.1:8080"}})
//	res, err := c.ScaleApp(ctx, "/web", 5, false)
//	err = c.WaitForDeployment(ctx, res.DeploymentID)
package marathon
