package audit

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	discoveryv1ac "k8s.io/client-go/applyconfigurations/discovery/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// +kubebuilder:rbac:groups=discovery.k8s.io,namespace=system,resources=endpointslices,verbs=get;create;update;patch

const (
	// EndpointManagedBy marks the leader's EndpointSlice as this operator's, so the
	// EndpointSlice controllers leave it alone. A label value takes no slash, hence
	// the controller.domain form Kubernetes uses (endpointslice-controller.k8s.io).
	EndpointManagedBy = "leader.rbac-guardrails.io"
	// EndpointPortName is the audit Service's port name (config/audit/service.yaml):
	// kube-proxy pairs a Service port with the slice port of the same name.
	EndpointPortName = "audit"
	endpointOwner    = client.FieldOwner("rbac-guardrails-leader")
)

// Endpoint points a selector-less Service at the leader's audit receiver: it applies
// the Service's only EndpointSlice with this pod's address, so the API server's
// batches reach the one replica that runs the intake. Each new leader overwrites the
// previous one's address.
type Endpoint struct {
	Client    client.Client
	Namespace string // of the Service and the slice
	Service   string
	PodName   string // recorded as the endpoint's targetRef when set
	PodIP     string
	Port      int32
	// Backoff paces retries until the first publish succeeds.
	Backoff wait.Backoff
	// Resync is how often the leader re-applies the slice, which restores it if it was
	// deleted or overwritten by a previous leader's late write.
	Resync time.Duration
}

// NewEndpoint returns the Endpoint that o asks for, or nil when o.ServiceName is empty.
// Its errors name the flag or environment variable to fix.
func NewEndpoint(c client.Client, o Options) (*Endpoint, error) {
	if o.ServiceName == "" {
		return nil, nil
	}
	if errs := validation.IsDNS1035Label(o.ServiceName); len(errs) > 0 {
		return nil, fmt.Errorf("--audit-service-name %q is not a Service name: %s", o.ServiceName, strings.Join(errs, "; "))
	}
	if o.WebhookAddr == "" {
		return nil, fmt.Errorf("--audit-service-name %q is set but --audit-webhook-bind-address is empty: "+
			"the leader would publish an address nothing listens on; set the bind address, e.g. :9444", o.ServiceName)
	}
	_, p, err := net.SplitHostPort(o.WebhookAddr)
	port, perr := strconv.ParseUint(p, 10, 16)
	if err != nil || perr != nil || port == 0 {
		return nil, fmt.Errorf("--audit-webhook-bind-address %q has no fixed port for --audit-service-name to publish: give host:port, e.g. :9444", o.WebhookAddr)
	}
	if o.PodIP == "" {
		return nil, fmt.Errorf("--audit-service-name %q needs this pod's IP in the POD_IP environment variable: "+
			"set it from the downward API (valueFrom.fieldRef.fieldPath: status.podIP)", o.ServiceName)
	}
	if net.ParseIP(o.PodIP) == nil {
		return nil, fmt.Errorf("POD_IP %q is not an IP address: set it from the downward API (valueFrom.fieldRef.fieldPath: status.podIP)", o.PodIP)
	}
	return &Endpoint{Client: c, Namespace: o.ServiceNamespace, Service: o.ServiceName, PodName: o.PodName, PodIP: o.PodIP,
		Port: int32(port)}, nil
}

// NeedLeaderElection: the slice must name the replica that runs the intake.
func (e *Endpoint) NeedLeaderElection() bool { return true }

// Start publishes the endpoint, retrying with backoff, then re-applies it every
// Resync until ctx is done.
func (e *Endpoint) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("audit-endpoint").WithValues("endpointSlice", klog.KRef(e.Namespace, e.Service),
		"address", net.JoinHostPort(e.PodIP, strconv.Itoa(int(e.Port))))
	b := e.Backoff
	if b.Duration <= 0 {
		b = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 10, Cap: 30 * time.Second}
	}
	published := false
	_ = b.DelayFunc().Until(ctx, true, true, func(ctx context.Context) (bool, error) {
		err := e.Publish(ctx)
		if err != nil {
			log.Error(err, "Publishing the audit endpoint failed; retrying")
		}
		published = err == nil
		return published, nil
	})
	if !published {
		return nil // ctx is done: this replica no longer leads, or is stopping
	}
	log.Info("Published the audit endpoint for the leader")

	resync := e.Resync
	if resync <= 0 {
		resync = time.Minute
	}
	_ = wait.PollUntilContextCancel(ctx, resync, false, func(ctx context.Context) (bool, error) {
		if err := e.Publish(ctx); err != nil {
			log.Error(err, "Re-applying the audit endpoint failed; retrying", "after", resync)
		}
		return false, nil
	})
	return nil
}

// Publish applies the slice. Its endpoints list is atomic, so the apply replaces the
// previous leader's address rather than adding to it.
func (e *Endpoint) Publish(ctx context.Context) error {
	addrType := discoveryv1.AddressTypeIPv4
	if net.ParseIP(e.PodIP).To4() == nil {
		addrType = discoveryv1.AddressTypeIPv6
	}
	ep := discoveryv1ac.Endpoint().WithAddresses(e.PodIP).
		WithConditions(discoveryv1ac.EndpointConditions().WithReady(true))
	if e.PodName != "" {
		ep.WithTargetRef(corev1ac.ObjectReference().WithKind("Pod").WithNamespace(e.Namespace).WithName(e.PodName))
	}
	slice := discoveryv1ac.EndpointSlice(e.Service, e.Namespace).
		WithLabels(map[string]string{
			discoveryv1.LabelServiceName: e.Service,
			discoveryv1.LabelManagedBy:   EndpointManagedBy,
		}).
		WithAddressType(addrType).
		WithEndpoints(ep).
		WithPorts(discoveryv1ac.EndpointPort().WithName(EndpointPortName).WithPort(e.Port).WithProtocol(corev1.ProtocolTCP))
	if err := e.Client.Apply(ctx, slice, endpointOwner, client.ForceOwnership); err != nil {
		return fmt.Errorf("applying EndpointSlice %s/%s: %w", e.Namespace, e.Service, err)
	}
	return nil
}
