package marathon

import (
	"regexp"
	"strings"
)

// Path ids name apps and groups: "/" separated segments, each a lowercase DNS-like name
// ("a", "a-b", "a.b"); ".." in a relative or absolute id refers to the parent.

var segmentRE = regexp.MustCompile(`^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$`)

// CanonicalPath resolves id against base (an absolute group id such as "/" or "/prod") unless it
// is absolute, removes "." and ".." segments and empty segments, and returns an absolute id without
// a trailing slash ("/" for the root). ok is false when ".." climbs above the root.
func CanonicalPath(id, base string) (canonical string, ok bool) {
	var segs []string
	if !strings.HasPrefix(id, "/") {
		segs = splitPath(base)
	}
	ok = true
	for _, s := range strings.Split(id, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) == 0 {
				ok = false
				continue
			}
			segs = segs[:len(segs)-1]
		default:
			segs = append(segs, s)
		}
	}
	return "/" + strings.Join(segs, "/"), ok
}

// ParentPath returns the id of the group that contains id ("/" for top-level ids).
func ParentPath(id string) string {
	segs := splitPath(id)
	if len(segs) <= 1 {
		return "/"
	}
	return "/" + strings.Join(segs[:len(segs)-1], "/")
}

// IsChildPath reports whether id lies (directly or deeper) under the group parent.
func IsChildPath(id, parent string) bool {
	if parent == "/" {
		return id != "/" && strings.HasPrefix(id, "/")
	}
	return strings.HasPrefix(id, parent+"/")
}

func splitPath(id string) []string {
	var out []string
	for _, s := range strings.Split(id, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// validatePathID checks an app, group or dependency id, relative ids resolved against base;
// root says whether "/" is acceptable.
func validatePathID(path, id, base string, root bool, p *problems) {
	if id == "" {
		p.add(path, "must not be empty")
		return
	}
	for _, s := range strings.Split(id, "/") {
		if s == "" || s == "." || s == ".." {
			continue
		}
		if !segmentRE.MatchString(s) {
			p.add(path, "must fully match regular expression '"+segmentRE.String()+"' in every path segment, got '"+s+"'")
			break
		}
	}
	canonical, ok := CanonicalPath(id, base)
	if !ok {
		p.add(path, "must not refer above the root group with '..'")
	}
	if !root && canonical == "/" {
		p.add(path, "must not be root")
	}
}
