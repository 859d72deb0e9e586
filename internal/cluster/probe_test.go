package cluster

import "testing"

func TestServicesURLFor(t *testing.T) {
	tests := []struct {
		name string
		node Node
		want string
	}{
		{"local", Node{IP: "127.0.0.2", URL: "http://127.0.0.2:5050"}, "http://127.0.0.2:8080"},
		{"docker, TLS", Node{IP: "10.77.0.3", URL: "https://10.77.0.3:5050"}, "https://10.77.0.3:8080"},
		{"a VM reached at its public IP", Node{IP: "10.0.0.4", PublicIP: "20.1.2.3", URL: "https://20.1.2.3:5050"}, "https://20.1.2.3:8080"},
		{"IPv6", Node{IP: "fd00::2", URL: "http://[fd00::2]:5050"}, "http://[fd00::2]:8080"},
		{"no URL yet", Node{IP: "127.0.0.3"}, "http://127.0.0.3:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := servicesURLFor(&tt.node); got != tt.want {
				t.Errorf("servicesURLFor(%+v) = %s, want %s", tt.node, got, tt.want)
			}
		})
	}
}
