package audit

import (
	"strings"
	"testing"
)

func TestNewEndpoint(t *testing.T) {
	valid := Options{WebhookAddr: ":9444", ServiceName: "rbac-guardrails-audit", ServiceNamespace: "ops",
		PodName: "manager-0", PodIP: "10.1.2.3"}
	tests := map[string]struct {
		edit     func(*Options)
		want     string // substring of the error; empty for none
		disabled bool
	}{
		"no service name disables it":     {edit: func(o *Options) { o.ServiceName, o.PodIP = "", "" }, disabled: true},
		"valid":                           {edit: func(*Options) {}},
		"IPv6 pod":                        {edit: func(o *Options) { o.PodIP = "fd00::1" }},
		"host and port":                   {edit: func(o *Options) { o.WebhookAddr = "0.0.0.0:9444" }},
		"service name not a DNS label":    {edit: func(o *Options) { o.ServiceName = "Audit_Svc" }, want: `--audit-service-name "Audit_Svc" is not a Service name`},
		"no bind address":                 {edit: func(o *Options) { o.WebhookAddr = "" }, want: "--audit-webhook-bind-address is empty"},
		"bind address without port":       {edit: func(o *Options) { o.WebhookAddr = "localhost" }, want: "give host:port, e.g. :9444"},
		"bind address with a random port": {edit: func(o *Options) { o.WebhookAddr = ":0" }, want: "no fixed port"},
		"bind address with a named port":  {edit: func(o *Options) { o.WebhookAddr = ":https" }, want: "no fixed port"},
		"pod IP missing":                  {edit: func(o *Options) { o.PodIP = "" }, want: "POD_IP environment variable"},
		"pod IP not an IP":                {edit: func(o *Options) { o.PodIP = "manager-0" }, want: `POD_IP "manager-0" is not an IP address`},
		"pod IP missing names the fix":    {edit: func(o *Options) { o.PodIP = "" }, want: "status.podIP"},
		"pod name is optional":            {edit: func(o *Options) { o.PodName = "" }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := valid
			tc.edit(&o)
			ep, err := NewEndpoint(nil, o)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			case tc.want == "" && tc.disabled != (ep == nil):
				t.Fatalf("endpoint = %+v, want disabled %v", ep, tc.disabled)
			}
			if ep != nil && (ep.Port != 9444 || ep.Namespace != o.ServiceNamespace || ep.Service != o.ServiceName || ep.PodIP != o.PodIP) {
				t.Fatalf("endpoint = %+v, want port 9444 and the options' service, namespace and pod IP", ep)
			}
		})
	}
}

// A Service name without a receiver must reach NewEndpoint's check, not disable the intake silently.
func TestEnabledByServiceName(t *testing.T) {
	if !(&Options{ServiceName: "rbac-guardrails-audit"}).Enabled() {
		t.Fatal("Enabled() = false with only --audit-service-name set; Setup would never report the missing bind address")
	}
}
