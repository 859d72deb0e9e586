package services

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

// TestValueEncoding checks that stored values round-trip, large ones gzipped below etcd's
// request limit.
func TestValueEncoding(t *testing.T) {
	big := &deployment{ID: "d", Original: map[string]*marathon.App{}, Plan: [][]action{{}}}
	for i := range 3000 {
		id := fmt.Sprintf("/group/app-%04d", i)
		big.Original[id] = planApp(id, 3, "python3 -m http.server $PORT0 --directory /srv/www")
		big.Plan[0] = append(big.Plan[0], action{actionStop, id})
	}
	for _, tt := range []struct {
		name       string
		v          *deployment
		compressed bool
	}{
		{"small", &deployment{ID: "d", Plan: [][]action{{{actionStart, "/a"}}}}, false},
		{"big", big, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeValue(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if gz := bytes.HasPrefix(b, []byte{0x1f, 0x8b}); gz != tt.compressed || len(b) > 1<<20 {
				t.Errorf("%d bytes, gzipped %v; want gzipped %v, under 1 MiB", len(b), gz, tt.compressed)
			}
			var got deployment
			if err := decodeValue(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&got, tt.v) {
				t.Error("decoded value differs")
			}
		})
	}
}
