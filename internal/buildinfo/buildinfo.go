package buildinfo

import (
	"runtime/debug"
	"time"
)

// Time is the commit time of the build, or the process start when the build does not say.
var Time = func() time.Time {
	if t, err := time.Parse(time.RFC3339, setting("vcs.time")); err == nil {
		return t
	}
	return time.Now()
}()

// Revision returns the commit the binary was built from, or "" when the build does not say.
func Revision() string { return setting("vcs.revision") }

// Version is the body of /version, as Mesos masters and agents answer it, for a node that
// speaks Mesos API version v.
func Version(v string) map[string]any {
	return map[string]any{
		"version":    v,
		"build_time": float64(Time.UnixNano()) / 1e9,
		"build_date": Time.UTC().Format("2006-01-02 15:04:05"),
		"build_user": "marina",
		"git_sha":    Revision(),
	}
}

func setting(key string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == key {
				return s.Value
			}
		}
	}
	return ""
}
