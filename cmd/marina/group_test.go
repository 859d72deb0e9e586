package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/testcluster"
)

// TestGroupCLI drives groups on a real in-process cluster with the CLI: create a group whose
// web app depends on its db, list and show it, preview a change, scale it, roll it back, delete it.
func TestGroupCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := testcluster.New(t, testcluster.Options{Masters: 1, Agents: 1, Services: true})
	c.WaitForServicesLeader(20 * time.Second)
	flags := []string{"--services=" + strings.Join(c.ServicesURLs(), ",")}
	cli := func(args ...string) result {
		t.Helper()
		return run(t, "", append(args, flags...)...)
	}

	def := writeFile(t, "shop.json", []byte(`{"id": "/shop", "apps": [
		{"id": "db", "cmd": "sleep 3600", "cpus": 0.1, "mem": 16},
		{"id": "web", "cmd": "sleep 3600", "cpus": 0.1, "mem": 16, "dependencies": ["db"]}]}`))
	created := cli("group", "create", "-f", def, "--wait")
	created.expect(t, 0, []string{"Created group: deployment "}, []string{"succeeded"})
	first := regexp.MustCompile(`\(version (\S+)\)`).FindStringSubmatch(created.stdout)
	if first == nil {
		t.Fatalf("no version in %q", created.stdout)
	}
	cli("group", "list").expect(t, 0, []string{"ID", "DEPENDENCIES", "/shop", "2"}, nil)

	change := writeFile(t, "change.json", []byte(`{"apps": [{"id": "db", "cmd": "sleep 3601", "cpus": 0.1, "mem": 16}]}`))
	cli("group", "update", "/shop", "-f", change, "--dry-run").expect(t, 0,
		[]string{"step 1/2: StopApplication /shop/web", "step 2/2: RestartApplication /shop/db"}, nil)

	cli("group", "scale", "/shop", "2", "--wait").expect(t, 0, []string{"Scaling group /shop by 2: deployment "}, []string{"succeeded"})
	cli("group", "show", "/shop").expect(t, 0, []string{"ID:", "Version:", "Versions:", "/shop/db", "/shop/web", "sleep 3600"}, nil)

	cli("group", "rollback", "/shop", first[1], "--wait").expect(t, 0, []string{"Rolling group /shop back to " + first[1]}, []string{"succeeded"})
	cli("group", "list", "/shop", "--json").expect(t, 0, []string{`"instances": 1`}, nil)

	cli("group", "delete", "/shop", "--wait").expect(t, 0, []string{"Deleting group /shop"}, []string{"succeeded"})
	cli("group", "show", "/shop").expect(t, 3, nil, []string{"Group '/shop' does not exist"})
	cli("group", "scale", "/shop", "x").expect(t, 2, nil, []string{"the factor must be a number"})
}
