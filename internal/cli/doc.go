// Package cli holds the API commands of the marina CLI (app, task, deployment, leader): what
// each does, how its answers are shown, and how the CLI finds the cluster it talks to. The
// cobra files in cmd/marina only declare commands and flags and call in here.
//
// Discovery (Options.Env): --services and --master URLs win; otherwise the cluster named by
// --cluster, or the current one, is read from the client config `marina up` writes
// (<state-dir>/config.json). The API token is $MARINA_TOKEN, else the cluster's "token" or
// "token_file" entry in the client config, else a "token" file in the cluster's state
// directory; none is sent when there is none.
//
// Output: tables for people (text/tabwriter) on stdout, or with --json the API's answer
// unchanged. Progress of --wait goes to stderr. Errors leave through Run, which prints them and
// ends the process with a code that says what went wrong: 0 ok, 1 error, 2 usage, 3 not found,
// 4 conflict, 5 invalid (see ExitCode).
package cli
