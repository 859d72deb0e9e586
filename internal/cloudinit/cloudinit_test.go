package cloudinit

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestRenderParseRoundTrip(t *testing.T) {
	in := Config{
		Packages: []string{"curl"},
		Files: []File{
			{Path: "/etc/marina/token", Mode: 0o600, Owner: "root:root", Content: []byte("s3cret\n")},
			{Path: "/etc/motd", Mode: 0o644, Owner: "root:root", Content: []byte("multi\nline: 'quoted' \"text\"\n")},
			{Path: "/var/lib/blob", Mode: 0o640, Owner: "root:root", Content: []byte{0, 1, 2, 0xff}},
		},
		Commands: [][]string{{"systemctl", "enable", "--now", "marina.service"}, {"sh", "-c", "echo a; echo b"}},
	}
	out, err := in.Render()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte(Header)) {
		t.Fatalf("no header: %q", out[:20])
	}
	// Any YAML reader sees the modules cloud-init reads.
	var generic map[string]any
	if err := yaml.Unmarshal(out, &generic); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	for _, k := range []string{"package_update", "packages", "write_files", "runcmd"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("no %s in %s", k, out)
		}
	}
	if !strings.Contains(string(out), "encoding: b64") {
		t.Errorf("binary content not base64-encoded:\n%s", out)
	}
	got, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, in)
	}
	if f := got.File("/etc/marina/token"); f == nil || f.Mode != 0o600 {
		t.Errorf("File(token) = %+v", f)
	}
	if got.File("/nope") != nil {
		t.Error("File of a path not written")
	}
}

func TestRenderRejects(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"relative path", Config{Files: []File{{Path: "etc/x"}}}, "not absolute"},
		{"unclean path", Config{Files: []File{{Path: "/etc/../x"}}}, "not absolute"},
		{"twice", Config{Files: []File{{Path: "/x"}, {Path: "/x"}}}, "written twice"},
		{"empty command", Config{Commands: [][]string{{}}}, "command 0 is empty"},
		{"too big", Config{Files: []File{{Path: "/big", Content: bytes.Repeat([]byte("a"), MaxSize)}}}, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Render()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, doc := range []string{
		"write_files: []\n",
		Header + "write_files:\n  - path: /x\n    owner: root:root\n    permissions: '0644'\n    encoding: gzip\n    content: x\n",
		Header + "bootcmd: [x]\n",
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("Parse(%q) succeeded", doc)
		}
	}
}
