package marathon

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecodeApp checks that decoding, validation, defaults and marshalling never panic, and that
// an app that validates stays valid through ApplyDefaults and re-decodes equal from its JSON.
func FuzzDecodeApp(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"id":"a","cmd":"x","ports":[0],"healthChecks":[{}]}`,
		`{"id":"a","container":{"docker":{"image":"x","network":"USER"}},"ipAddress":{}}`,
		`{"id":"a","cmd":"x","networks":[{}],"portDefinitions":[{"port":1},{"port":2}]}`,
		`{"id":"a","cmd":"x","unreachableStrategy":"disabled","resourceLimits":{"cpus":"unlimited"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		app, err := DecodeApp(data)
		if err != nil {
			return
		}
		verr := app.Validate()
		app.ApplyDefaults()
		out := mustMarshal(t, app)
		if verr != nil {
			_ = app.Validate()
			return
		}
		if verr := app.Validate(); verr != nil {
			t.Fatalf("valid app invalid after ApplyDefaults: %v\nin:  %s\nout: %s", verr, data, out)
		}
		again, err := DecodeApp(out)
		if err != nil {
			t.Fatalf("own output does not decode: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(app, again) {
			t.Fatalf("re-decoded app differs:\n%s\n%s", out, mustMarshal(t, again))
		}
		again.ApplyDefaults()
		if out2 := mustMarshal(t, again); !bytes.Equal(out, out2) {
			t.Fatalf("ApplyDefaults not idempotent:\n%s\n%s", out, out2)
		}
	})
}
