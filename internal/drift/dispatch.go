package drift

import (
	"slices"

	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// refresh recomputes one object's scope and findings.
func (e *Evaluator) refresh(ent *entry) {
	ent.inScope = e.inScope(ent)
	e.indexGrant(ent)
	var now []Finding
	if saved, ok := e.rec.recorded(ent.ref); ok && e.rec.restoring {
		now = saved // a Preview's undo: the inputs are back, so are the findings
	} else {
		now = e.check(ent)
	}
	old := ent.findings
	if findingsEqual(old, now) {
		return // keep old: the sorted list points into it
	}
	e.rec.record(ent.ref, old)
	ent.findings = now
	e.list.replace(old, now)
}

// check runs every check that applies to one live object: the table of its kind, in
// order, as cert-manager's policies.Chain runs its checks. It collects into a reused
// buffer and returns an exactly sized copy (nil when clean), since most objects keep
// their findings for a long time.
func (e *Evaluator) check(ent *entry) []Finding {
	if !ent.inScope {
		return nil
	}
	t := target{ent: ent}
	table := roleChecks
	if ent.binding {
		table = bindingChecks
		t.role = e.objects[ent.grantKey()] // a Role or ClusterRole key: never a binding
	}
	out := e.scratch[:0]
	for _, c := range table {
		out = c(e, t, out)
	}
	return e.keep(out)
}

// target is the object a check judges and, for a binding, the role it grants (nil
// when that does not exist: it grants nothing).
type target struct{ ent, role *entry }

// objectCheck appends the findings of one concern about a live object.
type objectCheck func(e *Evaluator, t target, out []Finding) []Finding

var (
	roleChecks    = []objectCheck{checkDeclaredRole, checkRoleGuardrail, checkDefaultAggregation, checkIneffectiveRules}
	bindingChecks = []objectCheck{checkDeclaredBinding, checkBindingGuardrail, checkCeilings, checkUnused}
)

// checkDeclaredRole: drift from the declaration, or Unexpected when none and reported.
func checkDeclaredRole(e *Evaluator, t target, out []Finding) []Finding {
	if d := e.roles[declKey{t.ent.ref.Kind, t.ent.ref.Name}].at(t.ent.ref.Namespace); d != nil {
		return append(out, checkRoleRules(d, t.ent)...)
	}
	if e.report {
		return append(out, checkUnexpected(t.ent.ref))
	}
	return out
}

func checkRoleGuardrail(e *Evaluator, t target, out []Finding) []Finding {
	return append(out, checkRoleGuardrails(&e.policy, t.ent, e.guardHit(t.ent))...)
}

func checkDefaultAggregation(e *Evaluator, t target, out []Finding) []Finding {
	if t.ent.ref.Kind != KindClusterRole || e.aggr.feeders[t.ent.ref.Name] != t.ent {
		return out
	}
	return append(out, checkAggregation(&e.policy, t.ent, e.aggr.aggregationOf(t.ent))...)
}

func checkIneffectiveRules(_ *Evaluator, t target, out []Finding) []Finding {
	if len(t.ent.vain) == 0 {
		return out
	}
	return append(out, checkIneffective(t.ent))
}

// checkDeclaredBinding: drift from the declaration, or Unexpected when none and reported.
func checkDeclaredBinding(e *Evaluator, t target, out []Finding) []Finding {
	if d := e.bindings[declKey{t.ent.ref.Kind, t.ent.ref.Name}].at(t.ent.ref.Namespace); d != nil {
		return append(out, checkBindingShape(d, t.ent)...)
	}
	if e.report {
		return append(out, checkUnexpected(t.ent.ref))
	}
	return out
}

func checkBindingGuardrail(e *Evaluator, t target, out []Finding) []Finding {
	return append(out, checkBindingGuardrails(&e.policy, t.ent, t.role)...)
}

// checkCeilings: what the binding grants the ceiling subjects it reaches beyond their ceilings.
func checkCeilings(e *Evaluator, t target, out []Finding) []Finding {
	if t.role == nil {
		return out
	}
	for i := range t.ent.reach {
		r := &t.ent.reach[i]
		if hit := e.beyond(r.ceiling, t.ent, t.role); len(hit.beyond) > 0 {
			out = append(out, checkCeiling(&e.ceil.list[r.ceiling], &r.via, t.ent, hit))
		}
	}
	return out
}

func checkUnused(e *Evaluator, t target, out []Finding) []Finding {
	if e.usage == nil || t.role == nil {
		return out
	}
	return e.appendUnused(out, t.ent, t.role)
}

// keep copies checked findings out of the scratch buffer, which it takes back. While
// previewing they go to the preview arena instead: the undo gives every re-checked
// object back its recorded findings, so nothing points into the arena afterwards.
func (e *Evaluator) keep(out []Finding) []Finding {
	var kept []Finding
	switch {
	case len(out) == 0:
	case e.rec.previewing:
		kept = carve(&e.arena, out, max(2*cap(e.arena), 64))
	case e.loading:
		// One allocation per chunk rather than per object; a chunk lives as long
		// as any object still has its loaded findings.
		kept = carve(&e.loaded, out, loadChunk)
	default:
		kept = slices.Clone(out)
	}
	clear(out) // hold no pointers into objects that may go away
	e.scratch = out[:0]
	return kept
}

const loadChunk = 1024

// carve copies fs to the free tail of *buf, starting a new chunk of at least
// chunk findings when it is full, and returns the copy, capped so appends to it
// cannot reach the next carving.
func carve(buf *[]Finding, fs []Finding, chunk int) []Finding {
	if cap(*buf)-len(*buf) < len(fs) {
		*buf = make([]Finding, 0, max(chunk, len(fs)))
	}
	n := len(*buf)
	*buf = append(*buf, fs...)
	return (*buf)[n : n+len(fs) : n+len(fs)]
}

// beyond returns the rules a binding grants through role beyond ceiling ci.
func (e *Evaluator) beyond(ci int, ent, role *entry) *ceilHit {
	key := ceilKey{ci, e.ruleHash(role), ent.ref.Kind == KindRoleBinding}
	if hit := e.cache.ceil[key]; hit != nil && rulesEqual(hit.rules, role.rules) {
		return hit
	}
	beyond := uncovered(e.ceil.list[ci].rules, grantedRules(role.rules, key.viaRB))
	hit := &ceilHit{rules: role.rules, beyond: beyond, text: describeRules(beyond)}
	e.cache.ceil[key] = hit
	return hit
}

// guardHit returns the guardrail matches of a role's rules.
func (e *Evaluator) guardHit(ent *entry) *guardHit {
	return e.guardHitAt(ent, ent.ref.Kind == KindRole)
}

// guardHitAt is guardHit for the role's rules applied in one namespace (namespaced:
// a Role, or a ClusterRole through a RoleBinding) or cluster-wide.
func (e *Evaluator) guardHitAt(ent *entry, namespaced bool) *guardHit {
	h := e.ruleHash(ent)
	if namespaced {
		h = ^h // a Role and a ClusterRole with the same rules grant different things
	}
	if hit := e.cache.guard[h]; hit != nil && hit.namespaced == namespaced && rulesEqual(hit.rules, ent.rules) {
		return hit
	}
	hit := &guardHit{rules: ent.rules, namespaced: namespaced, matches: guardrails.MatchRole(ent.rules, e.policy.enabled, namespaced)}
	for _, m := range hit.matches {
		hit.texts = append(hit.texts, guardrailText(m))
	}
	e.cache.guard[h] = hit
	return hit
}

func (e *Evaluator) ruleHash(ent *entry) uint64 {
	if !ent.hashed {
		ent.hash, ent.hashed = e.cache.hasher.sum(ent.rules), true
	}
	return ent.hash
}
