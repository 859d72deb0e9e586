package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeConfig writes a client config as `marina up` does, plus extra fields per cluster.
func writeConfig(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

const twoClusters = `{
  "current": "dev",
  "clusters": {
    "dev": {"provider": "local", "masters": ["http://127.0.0.1:5050", "http://127.0.0.2:5050", "http://127.0.0.3:5050"],
            "master": "http://127.0.0.1:5050", "services": "http://127.0.0.1:8080", "state_file": "STATE/dev/cluster.json"},
    "prod": {"provider": "ssh", "masters": ["https://10.0.0.1:5050"], "master": "https://10.0.0.1:5050",
             "services": "https://10.0.0.1:8443", "state_file": "STATE/prod/cluster.json", "token": "prod-token"}
  }
}`

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, dir, strings.ReplaceAll(twoClusters, "STATE", dir))
	if err := os.MkdirAll(filepath.Join(dir, "dev"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dev", "token"), []byte("dev-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		o    Options
		env  string // MARINA_TOKEN, "-" for unset
		want Target
		err  string
	}{
		{"current cluster, token file, services on every master", Options{}, "-", Target{
			Cluster:  "dev",
			Services: []string{"http://127.0.0.1:8080", "http://127.0.0.2:8080", "http://127.0.0.3:8080"},
			Masters:  []string{"http://127.0.0.1:5050", "http://127.0.0.2:5050", "http://127.0.0.3:5050"},
			Token:    "dev-token",
		}, ""},
		{"named cluster, token in the config", Options{Cluster: "prod"}, "-", Target{
			Cluster: "prod", Services: []string{"https://10.0.0.1:8443"}, Masters: []string{"https://10.0.0.1:5050"}, Token: "prod-token",
		}, ""},
		{"flags win, the config is not read", Options{Services: []string{"http://a:1/,http://b:2"}, Masters: []string{"http://m:5050"}}, "-", Target{
			Services: []string{"http://a:1", "http://b:2"}, Masters: []string{"http://m:5050"},
		}, ""},
		{"a flag and a named cluster: the cluster fills the rest", Options{Cluster: "prod", Services: []string{"http://a:1"}}, "-", Target{
			Cluster: "prod", Services: []string{"http://a:1"}, Masters: []string{"https://10.0.0.1:5050"}, Token: "prod-token",
		}, ""},
		{"env token wins", Options{Cluster: "prod"}, "env-token", Target{
			Cluster: "prod", Services: []string{"https://10.0.0.1:8443"}, Masters: []string{"https://10.0.0.1:5050"}, Token: "env-token",
		}, ""},
		{"unknown cluster", Options{Cluster: "qa"}, "-", Target{}, `no cluster "qa"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env == "-" {
				t.Setenv(EnvToken, "")
				os.Unsetenv(EnvToken)
			} else {
				t.Setenv(EnvToken, tc.env)
			}
			tc.o.StateDir = dir
			got, err := Discover(&tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDiscoverWithoutACluster(t *testing.T) {
	t.Setenv(EnvToken, "")
	_, err := Discover(&Options{StateDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "run marina up, or pass --services URL") {
		t.Fatalf("err = %v", err)
	}
}

func TestDiscoverTokenFile(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "tok")
	writeConfig(t, dir, `{"current":"c","clusters":{"c":{"services":"http://s:8080","token_file":"`+tokenFile+`"}}}`)
	t.Setenv(EnvToken, "")
	os.Unsetenv(EnvToken)
	if _, err := Discover(&Options{StateDir: dir}); err == nil {
		t.Fatal("a missing token_file that the config names was not an error")
	}
	if err := os.WriteFile(tokenFile, []byte("  abc \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Discover(&Options{StateDir: dir})
	if err != nil || got.Token != "abc" {
		t.Fatalf("Discover = %+v, %v", got, err)
	}
}
