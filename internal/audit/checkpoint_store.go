package audit

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CheckpointConfigMap is the ConfigMap, in the usage namespace, that holds the checkpoint.
const CheckpointConfigMap = "rbac-guardrails-audit-log-checkpoint"

const checkpointKey = "checkpoint.json"

// ConfigMapCheckpoints keeps the checkpoint in a ConfigMap beside the usage it goes
// with: unlike the pod's filesystem, it survives the pod being rescheduled, and it
// needs no access the usage store does not already have.
type ConfigMapCheckpoints struct {
	Client    client.Client
	Reader    client.Reader // uncached: ConfigMaps are not watched
	Namespace string
	Name      string
}

func (c *ConfigMapCheckpoints) String() string { return "ConfigMap " + c.Namespace + "/" + c.Name }

// Load reads the checkpoint.
func (c *ConfigMapCheckpoints) Load(ctx context.Context) ([]byte, bool, error) {
	cm := &corev1.ConfigMap{}
	err := c.Reader.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: c.Name}, cm)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return []byte(cm.Data[checkpointKey]), true, nil
}

// Save writes the checkpoint.
func (c *ConfigMapCheckpoints) Save(ctx context.Context, data []byte) error {
	cm := &corev1.ConfigMap{}
	err := c.Reader.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: c.Name}, cm)
	if apierrors.IsNotFound(err) {
		return c.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: c.Name},
			Data: map[string]string{checkpointKey: string(data)}})
	}
	if err != nil {
		return err
	}
	cm.Data = map[string]string{checkpointKey: string(data)}
	return c.Client.Update(ctx, cm)
}
