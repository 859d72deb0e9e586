package coord

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// GetJSON reads key into v. It reports false when the key does not exist.
func GetJSON(ctx context.Context, kv clientv3.KV, key string, v any) (bool, error) {
	resp, err := kv.Get(ctx, key)
	if err != nil {
		return false, err
	}
	if len(resp.Kvs) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, v); err != nil {
		return false, fmt.Errorf("coord: decode %s: %w", key, err)
	}
	return true, nil
}

// List returns every value under prefix, keyed by the rest of the key after prefix.
func List(ctx context.Context, kv clientv3.KV, prefix string) (map[string][]byte, error) {
	resp, err := kv.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(resp.Kvs))
	for _, e := range resp.Kvs {
		out[strings.TrimPrefix(string(e.Key), prefix)] = e.Value
	}
	return out, nil
}

// PutJSON returns an operation that writes v, JSON-encoded, at key; apply it with Term.Do.
func PutJSON(key string, v any) (clientv3.Op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return clientv3.Op{}, err
	}
	return clientv3.OpPut(key, string(b)), nil
}
