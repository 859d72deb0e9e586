package cli

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	api "github.com/marina-dcos/marina/internal/api/marathon"
	"github.com/marina-dcos/marina/internal/client/marathon"
)

func TestExitCode(t *testing.T) {
	apiErr := func(status int) error {
		return fmt.Errorf("wrapped: %w", &marathon.APIError{Status: status, Message: "m"})
	}
	cases := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitError},
		{usagef("bad"), ExitUsage},
		{notFoundf("gone"), ExitNotFound},
		{invalidf("bad file"), ExitInvalid},
		{apiErr(404), ExitNotFound},
		{apiErr(409), ExitConflict},
		{apiErr(422), ExitInvalid},
		{apiErr(400), ExitInvalid},
		{apiErr(401), ExitError},
		{apiErr(500), ExitError},
		{&marathon.DeploymentFailedError{ID: "d"}, ExitError},
	}
	for _, tc := range cases {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestReportInvalid(t *testing.T) {
	var b bytes.Buffer
	code := Report(&b, "marina app create", &marathon.APIError{Status: 422, Message: "Object is not valid", Details: []api.ErrorDetail{
		{Path: "/id", Errors: []string{"must not be empty"}},
		{Path: "/constraints(0)", Errors: []string{"unknown operator", "missing field"}},
	}})
	want := "marina: Object is not valid\n  /id: must not be empty\n  /constraints(0): unknown operator; missing field\n"
	if code != ExitInvalid || b.String() != want {
		t.Errorf("code %d, output:\n%s\nwant:\n%s", code, b.String(), want)
	}
}
