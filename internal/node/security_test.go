package node

import (
	"errors"
	"testing"
)

func TestCheckBind(t *testing.T) {
	tests := []struct {
		addr, token string
		wantErr     bool
	}{
		{"127.0.0.1:5050", "", false},
		{"127.0.0.3:5050", "", false},
		{"localhost:5050", "", false},
		{"[::1]:5050", "", false},
		{"0.0.0.0:5050", "", true},
		{":5050", "", true},
		{"10.0.0.5:5050", "", true},
		{"10.0.0.5:5050", "secret", false},
		{"example.com:5050", "", true},
	}
	for _, tt := range tests {
		err := CheckBind(tt.addr, tt.token)
		if (err != nil) != tt.wantErr {
			t.Errorf("CheckBind(%q, %q) = %v, want error %v", tt.addr, tt.token, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInsecureBind) {
			t.Errorf("CheckBind(%q): error %v does not wrap ErrInsecureBind", tt.addr, err)
		}
	}
}
