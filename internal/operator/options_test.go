package operator

import (
	"flag"
	"strings"
	"testing"

	"github.com/rbac-guardrails/rbac-guardrails/internal/audit"
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

// The leader's endpoint is configured by a flag and the downward-API environment;
// errors name the one to fix.
func TestAuditServiceFlags(t *testing.T) {
	tests := map[string]struct {
		args    []string
		env     map[string]string
		want    string // substring of the error; empty for none
		enabled bool   // whether an endpoint is published
	}{
		"off by default": {env: map[string]string{"POD_IP": "10.0.0.7"}},
		"on": {args: []string{"--audit-webhook-bind-address=:9444", "--audit-service-name=rbac-guardrails-audit"},
			env: map[string]string{"POD_IP": "10.0.0.7", "POD_NAME": "manager-0", "POD_NAMESPACE": "ops"}, enabled: true},
		"no POD_IP": {args: []string{"--audit-webhook-bind-address=:9444", "--audit-service-name=rbac-guardrails-audit"},
			want: "needs this pod's IP in the POD_IP environment variable"},
		"POD_IP not an IP": {args: []string{"--audit-webhook-bind-address=:9444", "--audit-service-name=rbac-guardrails-audit"},
			env: map[string]string{"POD_IP": "$(POD_IP)"}, want: `POD_IP "$(POD_IP)" is not an IP address`},
		"service without receiver": {args: []string{"--audit-service-name=rbac-guardrails-audit"},
			env: map[string]string{"POD_IP": "10.0.0.7"}, want: "--audit-webhook-bind-address is empty"},
		"service name not a DNS label": {args: []string{"--audit-webhook-bind-address=:9444", "--audit-service-name=audit.svc"},
			env: map[string]string{"POD_IP": "10.0.0.7"}, want: "--audit-service-name \"audit.svc\" is not a Service name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, k := range []string{"POD_IP", "POD_NAME", "POD_NAMESPACE"} {
				t.Setenv(k, tc.env[k])
			}
			var o audit.Options
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			o.BindFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && !o.Enabled() {
				t.Fatalf("Enabled() = false: main would skip audit.Setup and never report %q", tc.want)
			}
			ep, err := audit.NewEndpoint(nil, o)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			case tc.want == "" && tc.enabled != (ep != nil):
				t.Fatalf("endpoint = %+v, want published %v", ep, tc.enabled)
			}
			if tc.enabled && (ep.PodIP != "10.0.0.7" || ep.PodName != "manager-0" || ep.Namespace != "ops" || ep.Port != 9444) {
				t.Fatalf("endpoint = %+v, want the pod's IP, name and namespace from the environment, and port 9444", ep)
			}
		})
	}
}
