package approval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
)

// Label marks an approval ConfigMap; its value is the baseline's UID.
const Label = "guardrails.rbac-guardrails.io/approval-of"

// ReapproveAnnotation is what an admin sets (to any new value) to have the webhook
// judge them as the author of an Enforce baseline whose approval is missing.
const ReapproveAnnotation = "guardrails.rbac-guardrails.io/approve"

// Data keys of an approval ConfigMap.
const (
	keyHash      = "effectHash"
	keyUser      = "user"
	keyGroups    = "groups"
	keyTime      = "approvedAt"
	keyBaseline  = "baseline"
	keyRelaxedBy = "relaxedBy"
)

// Record is one baseline's approval.
type Record struct {
	UID  types.UID
	Hash string
	User string
	// Groups are the approver's groups at the time.
	Groups []string
	Time   time.Time
	// RelaxedBy names who last switched the baseline from Enforce to Audit or dry run.
	RelaxedBy string
}

// Approves reports whether the record covers the spec rb has now.
func (r *Record) Approves(rb *v1alpha1.RoleBaseline) bool {
	return r.Covers(rb.UID, EffectHash(&rb.Spec))
}

// Covers reports whether the record approves effects hashed to hash for the baseline
// with this UID, for callers that hashed the spec already.
func (r *Record) Covers(uid types.UID, hash string) bool {
	return r != nil && r.UID == uid && r.Hash == hash
}

// EffectHash hashes what decides the operator's writes for a baseline: mode, dry run,
// scope, declared roles and bindings, the unmanaged policy, owned objects and, when
// violations remove subjects, the guardrails and ceilings that pick those subjects.
// Report-only settings (severities, exceptions with Report, the journal size) are
// left out, so editing them needs no new approval.
func EffectHash(spec *v1alpha1.RoleBaselineSpec) string {
	effect := struct {
		Mode         v1alpha1.Mode
		DryRun       bool
		Scope        v1alpha1.Scope
		Roles        []v1alpha1.DesiredRole
		Bindings     []v1alpha1.DesiredBinding
		Unmanaged    v1alpha1.UnmanagedPolicy
		IncludeOwned bool
		Violations   v1alpha1.ViolationAction
		Guardrails   *v1alpha1.Guardrails      `json:",omitempty"`
		Subjects     []v1alpha1.SubjectCeiling `json:",omitempty"`
	}{spec.Mode, spec.Enforcement.DryRun, spec.Scope, spec.Roles, spec.Bindings, spec.Unmanaged,
		spec.Enforcement.IncludeOwned, spec.Enforcement.EffectiveViolations(), nil, nil}
	if effect.Violations == v1alpha1.ViolationRemoveSubjects {
		effect.Guardrails, effect.Subjects = &spec.Guardrails, spec.Subjects
	}
	data, _ := json.Marshal(effect) // plain data: cannot fail
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Name is the approval ConfigMap's name for a baseline UID.
func Name(uid types.UID) string { return "rbl-approval-" + string(uid) }

// Store reads and writes approvals in one namespace.
type Store struct {
	Client client.Client
	// Reader reads uncached, so the operator does not cache every ConfigMap.
	Reader    client.Reader
	Namespace string
}

// Load returns the baseline's record, or nil when there is none.
func (s *Store) Load(ctx context.Context, rb *v1alpha1.RoleBaseline) (*Record, error) {
	var cm corev1.ConfigMap
	err := s.Reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: Name(rb.UID)}, &cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rec := &Record{UID: types.UID(cm.Labels[Label]), Hash: cm.Data[keyHash], User: cm.Data[keyUser],
		RelaxedBy: cm.Data[keyRelaxedBy]}
	if g := cm.Data[keyGroups]; g != "" {
		rec.Groups = strings.Split(g, ",")
	}
	rec.Time, _ = time.Parse(time.RFC3339, cm.Data[keyTime])
	return rec, nil
}

// Save writes the baseline's record, replacing any earlier one.
func (s *Store) Save(ctx context.Context, rb *v1alpha1.RoleBaseline, rec Record) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: Name(rb.UID),
		Labels: map[string]string{Label: string(rb.UID)}}}
	data := map[string]string{keyHash: rec.Hash, keyUser: rec.User, keyGroups: strings.Join(rec.Groups, ","),
		keyTime: rec.Time.UTC().Format(time.RFC3339), keyBaseline: rb.Name, keyRelaxedBy: rec.RelaxedBy}
	cm.Data = data
	err := s.Client.Create(ctx, cm)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := s.Reader.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
		return err
	}
	cm.Data = data
	return s.Client.Update(ctx, cm)
}

// Delete removes a deleted baseline's record.
func (s *Store) Delete(ctx context.Context, uid types.UID) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: Name(uid)}}
	return client.IgnoreNotFound(s.Client.Delete(ctx, cm))
}
