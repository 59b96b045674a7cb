package drift

import (
	"hash/maphash"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbac-guardrails/rbac-guardrails/internal/guardrails"
)

// The same rule lists recur across a cluster (one chart stamps the same Role into
// every namespace), and the coverage checks are the costly part of an evaluation.
// These caches are keyed by the content of the rules, so they never go stale; a hit
// is confirmed by comparing the rules, so a hash collision only costs a recompute.

type ruleHasher struct{ seed maphash.Seed }

func (h ruleHasher) sum(rules []rbacv1.PolicyRule) uint64 {
	var m maphash.Hash
	m.SetSeed(h.seed)
	for i := range rules {
		r := &rules[i]
		for _, f := range [...][]string{r.Verbs, r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs} {
			for _, s := range f {
				m.WriteString(s)
				m.WriteByte(0)
			}
			m.WriteByte(1)
		}
		m.WriteByte(2)
	}
	return m.Sum64()
}

// guardHit caches the guardrail matches of one rule list, with the text of each.
type guardHit struct {
	rules      []rbacv1.PolicyRule
	namespaced bool
	matches    []guardrails.Match
	texts      []string
}

type ceilKey struct {
	ceiling int
	hash    uint64
	viaRB   bool
}

// ceilHit caches the rules beyond one ceiling of one rule list.
type ceilHit struct {
	rules  []rbacv1.PolicyRule
	beyond []rbacv1.PolicyRule
	text   string
}

type grantKey struct {
	hash  uint64
	viaRB bool
}

// grantHit caches the atomic pieces a rule list grants through one kind of binding,
// and those pieces compacted with their text: the answer for a grant never used.
type grantHit struct {
	rules []rbacv1.PolicyRule
	atoms []rbacv1.PolicyRule
	all   []rbacv1.PolicyRule
	text  string
	// partial holds, by the bit set of unused atoms (roles of at most 64 pieces),
	// the compacted unused rules and their text: subjects that use the same few
	// permissions of a shared role are the common case.
	partial map[uint64]*unusedRules
}

type unusedRules struct {
	rules []rbacv1.PolicyRule
	text  string
}

// caches are per Evaluator; they are cleared when they outgrow the live state, so
// memory stays linear in the objects held.
type caches struct {
	hasher ruleHasher
	guard  map[uint64]*guardHit
	ceil   map[ceilKey]*ceilHit
	grant  map[grantKey]*grantHit
	steps  map[grantKey]*stepHit
}

// stepHit caches the escalation steps one rule list grants through one kind of binding.
type stepHit struct {
	rules []rbacv1.PolicyRule
	steps []guardrails.Step
}

func newCaches() caches {
	return caches{hasher: ruleHasher{maphash.MakeSeed()}, guard: map[uint64]*guardHit{}, ceil: map[ceilKey]*ceilHit{},
		grant: map[grantKey]*grantHit{}, steps: map[grantKey]*stepHit{}}
}

func (c *caches) trim(limit int) {
	if len(c.guard) > limit {
		clear(c.guard)
	}
	if len(c.ceil) > limit {
		clear(c.ceil)
	}
	if len(c.grant) > limit {
		clear(c.grant)
	}
	if len(c.steps) > limit {
		clear(c.steps)
	}
}
