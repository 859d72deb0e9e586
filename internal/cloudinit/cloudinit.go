package cloudinit

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Header is the first line of every #cloud-config document.
const Header = "#cloud-config\n"

// MaxSize is the most user data a cloud takes (Azure's custom data: 64 KiB, base64-encoded by
// the caller, so 48 KiB of document).
const MaxSize = 48 << 10

// File is a file cloud-init writes.
type File struct {
	Path    string
	Mode    fs.FileMode // default 0644
	Owner   string      // default root:root
	Content []byte
}

// Config is what a node does at its first boot.
type Config struct {
	// Packages are installed (from the distribution's repositories) before anything runs.
	Packages []string
	Files    []File
	// Commands run in order, as root, once every file is written; each is an argv (no shell).
	Commands [][]string
}

// document is the YAML shape of the modules Config uses.
type document struct {
	PackageUpdate bool        `yaml:"package_update,omitempty"`
	Packages      []string    `yaml:"packages,omitempty"`
	WriteFiles    []writeFile `yaml:"write_files,omitempty"`
	RunCmd        [][]string  `yaml:"runcmd,omitempty"`
}

type writeFile struct {
	Path        string `yaml:"path"`
	Owner       string `yaml:"owner"`
	Permissions string `yaml:"permissions"`
	Encoding    string `yaml:"encoding,omitempty"`
	Content     string `yaml:"content"`
}

// Render returns the #cloud-config document. It checks that every path is absolute and clean,
// that no path is written twice, that no command is empty and that the document fits MaxSize.
func (c Config) Render() ([]byte, error) {
	var errs []error
	doc := document{PackageUpdate: len(c.Packages) > 0, Packages: c.Packages, RunCmd: c.Commands}
	seen := map[string]bool{}
	for _, f := range c.Files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			errs = append(errs, fmt.Errorf("cloud-init: file path %q is not absolute and clean", f.Path))
			continue
		}
		if seen[f.Path] {
			errs = append(errs, fmt.Errorf("cloud-init: %s is written twice", f.Path))
		}
		seen[f.Path] = true
		wf := writeFile{Path: f.Path, Owner: f.Owner, Permissions: fmt.Sprintf("%#o", f.Mode.Perm())}
		if wf.Owner == "" {
			wf.Owner = "root:root"
		}
		if f.Mode == 0 {
			wf.Permissions = "0644"
		}
		if utf8.Valid(f.Content) && !bytes.ContainsRune(f.Content, 0) {
			wf.Content = string(f.Content)
		} else {
			wf.Encoding, wf.Content = "b64", base64.StdEncoding.EncodeToString(f.Content)
		}
		doc.WriteFiles = append(doc.WriteFiles, wf)
	}
	for i, cmd := range c.Commands {
		if len(cmd) == 0 || cmd[0] == "" {
			errs = append(errs, fmt.Errorf("cloud-init: command %d is empty", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(Header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("cloud-init: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("cloud-init: %w", err)
	}
	if b.Len() > MaxSize {
		return nil, fmt.Errorf("cloud-init: %d bytes of user data, more than the %d a cloud takes", b.Len(), MaxSize)
	}
	return b.Bytes(), nil
}

// Parse reads a #cloud-config document written by Render back into a Config.
func Parse(data []byte) (Config, error) {
	if !bytes.HasPrefix(data, []byte(Header)) {
		return Config{}, errors.New("cloud-init: not a #cloud-config document")
	}
	var doc document
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return Config{}, fmt.Errorf("cloud-init: %w", err)
	}
	c := Config{Packages: doc.Packages, Commands: doc.RunCmd}
	for _, wf := range doc.WriteFiles {
		f := File{Path: wf.Path, Owner: wf.Owner, Content: []byte(wf.Content)}
		var mode uint32
		if _, err := fmt.Sscanf(wf.Permissions, "%o", &mode); err != nil {
			return Config{}, fmt.Errorf("cloud-init: %s: permissions %q: %w", wf.Path, wf.Permissions, err)
		}
		f.Mode = fs.FileMode(mode)
		switch strings.ToLower(wf.Encoding) {
		case "":
		case "b64", "base64":
			b, err := base64.StdEncoding.DecodeString(wf.Content)
			if err != nil {
				return Config{}, fmt.Errorf("cloud-init: %s: %w", wf.Path, err)
			}
			f.Content = b
		default:
			return Config{}, fmt.Errorf("cloud-init: %s: unknown encoding %q", wf.Path, wf.Encoding)
		}
		c.Files = append(c.Files, f)
	}
	return c, nil
}

// File returns the file of c written at path, or nil.
func (c Config) File(path string) *File {
	for i := range c.Files {
		if c.Files[i].Path == path {
			return &c.Files[i]
		}
	}
	return nil
}
