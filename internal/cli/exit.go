package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/marina-dcos/marina/internal/client/marathon"
)

// Exit codes of the API commands.
const (
	ExitOK       = 0
	ExitError    = 1 // anything else: unreachable cluster, failed deployment...
	ExitUsage    = 2 // bad arguments or flags
	ExitNotFound = 3 // 404: no such app, task, deployment or leader
	ExitConflict = 4 // 409: locked by a deployment (retry with --force) or already exists
	ExitInvalid  = 5 // 422 or 400: the request or definition is not valid
)

// codedError is an error the CLI finds itself, with its exit code.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// UsageError returns err as a usage error (exit 2).
func UsageError(err error) error { return &codedError{code: ExitUsage, err: err} }

// usagef returns a usage error (exit 2).
func usagef(format string, args ...any) error {
	return &codedError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// notFoundf returns a not-found error (exit 3).
func notFoundf(format string, args ...any) error {
	return &codedError{code: ExitNotFound, err: fmt.Errorf(format, args...)}
}

// invalidf returns an invalid-input error (exit 5).
func invalidf(format string, args ...any) error {
	return &codedError{code: ExitInvalid, err: fmt.Errorf(format, args...)}
}

// ExitCode returns the exit code for err.
func ExitCode(err error) int {
	var ce *codedError
	var ae *marathon.APIError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &ae):
		switch ae.Status {
		case http.StatusNotFound:
			return ExitNotFound
		case http.StatusConflict:
			return ExitConflict
		case http.StatusBadRequest, http.StatusUnprocessableEntity:
			return ExitInvalid
		}
	}
	return ExitError
}

// Report prints err for people and returns its exit code: for an API error its message, every
// {path, errors} detail of an invalid request, the deployments behind a conflict and the hint
// to use --force.
func Report(w io.Writer, cmdPath string, err error) int {
	code := ExitCode(err)
	var ae *marathon.APIError
	if !errors.As(err, &ae) {
		fmt.Fprintln(w, "marina:", err)
		if code == ExitUsage && cmdPath != "" {
			fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmdPath)
		}
		return code
	}
	msg := ae.Message
	if msg == "" {
		msg = fmt.Sprintf("%d %s", ae.Status, http.StatusText(ae.Status))
	}
	fmt.Fprintln(w, "marina:", msg)
	for _, d := range ae.Details {
		fmt.Fprintf(w, "  %s: %s\n", d.Path, strings.Join(d.Errors, "; "))
	}
	switch {
	case code == ExitConflict:
		if len(ae.Deployments) > 0 {
			ids := make([]string, len(ae.Deployments))
			for i, d := range ae.Deployments {
				ids[i] = d.ID
			}
			fmt.Fprintln(w, "  deployments in progress:", strings.Join(ids, ", "))
		}
		fmt.Fprintln(w, "Retry with --force to cancel the deployment in progress (the app may be left between versions).")
	case errors.Is(err, marathon.ErrUnauthorized):
		fmt.Fprintln(w, "Set the cluster's API token in $MARINA_TOKEN or the client config.")
	}
	return code
}
