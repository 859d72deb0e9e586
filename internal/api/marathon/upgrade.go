package marathon

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// UpgradeStrategy bounds how many instances may be down or extra during a deployment.
// Both are fractions of the instance count in [0, 1]. Marathon's default is 1/1, and 0.5/0 for
// resident apps.
type UpgradeStrategy struct {
	MinimumHealthCapacity *float64 `json:"minimumHealthCapacity,omitempty"`
	MaximumOverCapacity   *float64 `json:"maximumOverCapacity,omitempty"`
}

func (u UpgradeStrategy) validate(path string, singleInstance, resident bool, p *problems) {
	check := func(name string, v *float64) {
		if v != nil && (*v < 0 || *v > 1) {
			p.add(sub(path, name), "must be between 0.0 and 1.0")
		}
	}
	check("minimumHealthCapacity", u.MinimumHealthCapacity)
	check("maximumOverCapacity", u.MaximumOverCapacity)
	if singleInstance {
		if u.MinimumHealthCapacity != nil && *u.MinimumHealthCapacity != 0 {
			p.add(sub(path, "minimumHealthCapacity"), "must be 0.0 for single instance apps")
		}
		if u.MaximumOverCapacity != nil && *u.MaximumOverCapacity != 0 {
			p.add(sub(path, "maximumOverCapacity"), "must be 0.0 for single instance apps")
		}
	}
	if resident && u.MaximumOverCapacity != nil && *u.MaximumOverCapacity != 0 {
		p.add(sub(path, "maximumOverCapacity"), "must be 0.0 for resident apps")
	}
}

// Kill selections.
const (
	KillYoungestFirst = "YOUNGEST_FIRST"
	KillOldestFirst   = "OLDEST_FIRST"
)

// UnreachableStrategy says when an unreachable instance is replaced (inactive) and when it is
// forgotten (expunged). JSON: the string "disabled", or an object with both durations in seconds.
type UnreachableStrategy struct {
	Disabled             bool
	InactiveAfterSeconds int64
	ExpungeAfterSeconds  int64
}

type unreachableEnabled struct {
	InactiveAfterSeconds int64 `json:"inactiveAfterSeconds"`
	ExpungeAfterSeconds  int64 `json:"expungeAfterSeconds"`
}

// MarshalJSON writes "disabled" or the object.
func (u UnreachableStrategy) MarshalJSON() ([]byte, error) {
	if u.Disabled {
		return []byte(`"disabled"`), nil
	}
	return json.Marshal(unreachableEnabled{u.InactiveAfterSeconds, u.ExpungeAfterSeconds})
}

// UnmarshalJSON reads "disabled" or the object, absent durations being 0.
func (u *UnreachableStrategy) UnmarshalJSON(b []byte) error {
	*u = UnreachableStrategy{}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "disabled" {
			return fmt.Errorf("unreachableStrategy must be \"disabled\" or an object, got %q", s)
		}
		u.Disabled = true
		return nil
	}
	var e unreachableEnabled
	if err := unmarshalKnown(b, &e); err != nil {
		return fmt.Errorf("unreachableStrategy: %w", err)
	}
	u.InactiveAfterSeconds, u.ExpungeAfterSeconds = e.InactiveAfterSeconds, e.ExpungeAfterSeconds
	return nil
}

func (u UnreachableStrategy) validate(path string, resident bool, p *problems) {
	if u.Disabled {
		return
	}
	if resident {
		p.add(path, "unreachableStrategy must be disabled for resident tasks")
	}
	if u.InactiveAfterSeconds < 0 {
		p.add(sub(path, "inactiveAfterSeconds"), "must be greater than or equal to 0")
	}
	if u.ExpungeAfterSeconds < 0 {
		p.add(sub(path, "expungeAfterSeconds"), "must be greater than or equal to 0")
	}
	if u.ExpungeAfterSeconds < u.InactiveAfterSeconds {
		p.add(sub(path, "expungeAfterSeconds"), "must be greater than or equal to inactiveAfterSeconds")
	}
}
