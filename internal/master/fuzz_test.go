package master

import (
	"testing"
)

// FuzzDecodeCall: decoding and validating any bytes as a scheduler call must not panic.
func FuzzDecodeCall(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"type":"SUBSCRIBE"}`,
		`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","roles":["a","*"],"failover_timeout":1e400}}}`,
		`{"type":"ACCEPT","framework_id":{"value":"M-0000"},"accept":{"offer_ids":[{"value":"M-O1"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]}]}}],"filters":{"refuse_seconds":5}}}`,
		`{"type":"ACKNOWLEDGE","framework_id":{"value":"f"},"acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"AAEC"}}`,
		`{"type":"RECONCILE","framework_id":{"value":"f"},"reconcile":{"tasks":[{"task_id":{"value":"t"}}]}}`,
		`{"type":"KILL","framework_id":{"value":"f"},"kill":{"task_id":{"value":"t"}}} {}`,
		`{"type":"DECLINE","framework_id":{"value":"f"},"decline":{"offer_ids":[],"filters":{"refuse_seconds":-1}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCall(b)
		if err == nil && c == nil {
			t.Fatal("nil call without error")
		}
		if err == nil && c.Accept != nil {
			_ = refuseDuration(c.Accept.Filters)
		}
		if err == nil && c.Subscribe != nil {
			_ = failoverTimeout(c.Subscribe.FrameworkInfo)
		}
	})
}
