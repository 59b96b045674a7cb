package main

import (
	"strings"
	"testing"
)

func TestCheckAuditPort(t *testing.T) {
	tests := map[string]struct {
		addr     string
		webhooks bool
		want     string // substring of the error; empty for none
	}{
		"audit off":                     {addr: "", webhooks: true},
		"another port":                  {addr: ":9444", webhooks: true},
		"the webhooks' port":            {addr: ":9443", webhooks: true, want: "pick another port for the audit receiver, e.g. :9444"},
		"the webhooks' port, host form": {addr: "0.0.0.0:9443", webhooks: true, want: "--webhook-port"},
		"webhooks off frees the port":   {addr: ":9443", webhooks: false},
		"no port":                       {addr: "localhost", webhooks: true, want: "give host:port"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := checkAuditPort(tc.addr, tc.webhooks, 9443)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
