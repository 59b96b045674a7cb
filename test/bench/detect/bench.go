package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/api/v1alpha1"
	"github.com/rbac-guardrails/rbac-guardrails/internal/revert"
	"github.com/rbac-guardrails/rbac-guardrails/test/harness"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
}

// result is what one size measured.
type result struct {
	mode                            string
	scoped                          int
	n, objects, inScope, unexpected int
	writes                          int
	lat                             latencies
	ref                             latencies // the harness's own Role update -> its watch event
	negative                        int       // writes whose status event arrived before their Role event
	setup                           time.Duration
	ready                           time.Duration // baseline created -> status current
	memSetup, memAfter              harness.Memory
	enforce                         enforceStats
}

// enforceStats is what enforce mode checks besides latency.
type enforceStats struct {
	uidChanges int // events of a tampered Role with another UID than at the start: an access gap
	deletes    int // DELETED events on a tampered Role: an access gap
	between    int // events on a Role between a tampering write and its revert
	journal    int // journal ConfigMaps of the baseline after the writes (pruned to journalLimit)
	deleted    int // timed drifts that deleted the Role (-drift delete or mixed); recreated, not counted as gaps
}

type latencies struct{ p50, p90, p99, max, mean float64 }

// runSize measures one size on a fresh control plane and a fresh manager.
func runSize(ctx context.Context, opts options, root, tmp, bin string, n int) (res result, err error) {
	res.n, res.mode = n, opts.mode
	dir, err := os.MkdirTemp(tmp, fmt.Sprintf("n%d-", n))
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)

	progress("N=%d: starting etcd and kube-apiserver", n)
	started := time.Now()
	cp, err := harness.StartControlPlane(root, dir, nil)
	if err != nil {
		return res, err
	}
	defer func() {
		progress("N=%d: stopping the control plane", n)
		cp.Stop()
	}()
	c, err := client.NewWithWatch(cp.Cfg, client.Options{Scheme: scheme})
	if err != nil {
		return res, err
	}

	existing, err := countRBAC(ctx, c)
	if err != nil {
		return res, err
	}
	scopedNS, bindings := opts.scoped, opts.mode == modeDetect
	if scopedNS == 0 {
		scopedNS = 10
		if opts.mode == modeEnforce {
			// Enough declared Roles that each is tampered at most twice a minute at a
			// few writes per second; the harness paces writes when that is not enough.
			scopedNS = max(1, min(50, opts.namespaces, n-existing))
		}
	}
	l, err := planLayout(n, existing, opts.namespaces, scopedNS, bindings)
	if err != nil {
		return res, err
	}
	res.scoped = l.scoped
	declaredBindings := 0
	if l.bindings {
		declaredBindings = l.scoped
	}
	progress("N=%d: creating %d namespaces and %d RBAC objects (%d Roles, %d RoleBindings, %d ClusterRoles, %d ClusterRoleBindings; %d bootstrap objects already there)",
		n, l.namespaces, l.total()-existing, l.roles+l.scoped, l.roleBindings+declaredBindings, l.clusterRoles, l.clusterRoleBindings, existing)
	t := time.Now()
	if err := populate(ctx, c, l, opts.workers); err != nil {
		return res, err
	}
	if res.objects, err = countRBAC(ctx, c); err != nil {
		return res, err
	}
	progress("N=%d: %d RBAC objects in the cluster, created in %s", n, res.objects, time.Since(t).Round(time.Millisecond))
	res.inScope = l.declared() + l.expectedUnexpected
	res.unexpected = l.expectedUnexpected

	var scoped []string
	for i := range l.scoped {
		scoped = append(scoped, nsName(i))
	}
	obs := newObserver()
	wctx, stopWatches := context.WithCancel(ctx)
	defer stopWatches()
	if err := obs.start(wctx, c, scoped); err != nil {
		return res, fmt.Errorf("opening the observer's watches: %w", err)
	}

	progress("N=%d: starting the manager", n)
	mgr, err := harness.StartManager(bin, cp.Kubeconfig, dir, harness.ManagerOptions{LogLevel: opts.logLevel, Env: opts.managerEnv,
		Args: append(cp.ManagerArgs(), opts.managerArgs...)})
	if err != nil {
		return res, err
	}
	defer func() {
		progress("N=%d: stopping the manager", n)
		mgr.Stop(opts.keepLogs || err != nil)
	}()

	bl := baseline(l, opts.mode)
	t = time.Now()
	if err := harness.CreateWhenServed(ctx, c, bl, 2*time.Minute); err != nil {
		return res, fmt.Errorf("creating the RoleBaseline: %w", err)
	}
	want := int32(l.expectedUnexpected)
	_, err = obs.baselineArrival(ctx, 5*time.Minute, 0, "the RoleBaseline's first status", func(s *baselineState) bool {
		return s.observedGeneration == s.generation && s.generation > 0 && s.drifts == want && s.violations == 0 &&
			s.byType[v1alpha1.FindingUnexpected] == want && s.byType[v1alpha1.FindingRulesAdded] == 0
	})
	if err != nil {
		if s, ok := obs.last(); ok {
			err = fmt.Errorf("%w (last status seen: observedGeneration %d of %d, drifts %d, violations %d, byType %v; want %d Unexpected)",
				err, s.observedGeneration, s.generation, s.drifts, s.violations, s.byType, want)
		}
		return res, errorsJoin(err, mgr.Exited())
	}
	res.ready = time.Since(t)
	res.setup = time.Since(started)
	progress("N=%d: status current %s after the RoleBaseline was created (%d Unexpected findings)", n, res.ready.Round(time.Millisecond), want)
	if got := (&v1alpha1.RoleBaseline{}); c.Get(ctx, client.ObjectKeyFromObject(bl), got) == nil {
		if data, err := json.Marshal(got); err == nil {
			progress("N=%d: the RoleBaseline is %d bytes of JSON with %d findings listed", n, len(data), len(got.Status.Findings))
		}
	}
	if res.memSetup, err = harness.MemoryOf(mgr.Cmd.Process.Pid); err != nil {
		return res, err
	}

	progress("N=%d: %d timed writes (%s)", n, opts.writes, opts.mode)
	var samples, refs []float64
	var negative int
	if opts.mode == modeEnforce {
		samples, refs, res.enforce, err = timedReverts(ctx, opts, c, obs, scoped, mgr)
	} else {
		samples, refs, negative, err = timedWrites(ctx, opts, c, obs, scoped, mgr)
	}
	if err != nil {
		return res, err
	}
	if opts.mode == modeEnforce {
		if got := (&v1alpha1.RoleBaseline{}); c.Get(ctx, client.ObjectKeyFromObject(bl), got) == nil {
			var cms corev1.ConfigMapList
			if err := c.List(ctx, &cms, client.InNamespace(journalNamespace), client.MatchingLabels{revert.JournalLabel: string(got.UID)}); err == nil {
				res.enforce.journal = len(cms.Items)
			}
		}
	}
	res.writes, res.negative = len(samples), negative
	res.lat, res.ref = summarize(samples), summarize(refs)
	if res.memAfter, err = harness.MemoryOf(mgr.Cmd.Process.Pid); err != nil {
		return res, err
	}
	if err := mgr.Exited(); err != nil {
		return res, err
	}
	return res, nil
}

// timedWrites makes opts.writes sequential writes, alternately adding a rule to the
// declared Role of a scoped namespace and removing it, and returns each write's
// latency in milliseconds. refs are, for reference, the times from sending each
// update to the arrival of its own watch event: one API write and one watch delivery
// on the same machine, the floor under a status patch seen through a watch.
func timedWrites(ctx context.Context, opts options, c client.Client, obs *observer, scoped []string,
	mgr *harness.Manager) (samples, refs []float64, negative int, err error) {
	samples = make([]float64, 0, opts.writes)
	refs = make([]float64, 0, opts.writes)
	roles := map[string]*rbacv1.Role{}
	for i := range opts.writes {
		if err := ctx.Err(); err != nil {
			return nil, nil, 0, err
		}
		add := i%2 == 0
		ns := scoped[(i/2)%len(scoped)]
		key := ns + "/" + declaredName
		role := roles[ns]
		if role == nil {
			role = &rbacv1.Role{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: declaredName}, role); err != nil {
				return nil, nil, 0, err
			}
		}
		if add {
			role.Rules = append(slices.Clone(declaredRules), addedRule)
		} else {
			role.Rules = slices.Clone(declaredRules)
		}
		from := obs.mark()
		sent := time.Now()
		if err := c.Update(ctx, role); err != nil {
			return nil, nil, 0, fmt.Errorf("write %d: updating Role %s: %w", i, key, err)
		}
		roles[ns] = role
		roleAt, err := obs.roleArrival(ctx, opts.writeTimeout, role.ResourceVersion)
		if err != nil {
			return nil, nil, 0, errorsJoin(fmt.Errorf("write %d: %w", i, err), mgr.Exited())
		}
		wantAdded := int32(0)
		if add {
			wantAdded = 1
		}
		st, err := obs.baselineArrival(ctx, opts.writeTimeout, from, fmt.Sprintf("write %d (Role %s, rule added: %t) in status", i, key, add),
			func(s *baselineState) bool {
				return s.byType[v1alpha1.FindingRulesAdded] == wantAdded && s.rulesAdded[key] == add
			})
		if err != nil {
			return nil, nil, 0, errorsJoin(err, mgr.Exited())
		}
		d := st.at.Sub(roleAt)
		if d < 0 {
			negative++
		}
		samples = append(samples, float64(d.Microseconds())/1000)
		refs = append(refs, float64(roleAt.Sub(sent).Microseconds())/1000)
		if opts.verbose {
			progress("  write %d (%s, add %t): %.1f ms (Role event rv %s at %s, status rv %s)", i, key, add,
				float64(d.Microseconds())/1000, role.ResourceVersion, roleAt.Format("15:04:05.000000"), st.resourceVersion)
		}
		if (i+1)%50 == 0 {
			progress("  %d writes done", i+1)
		}
		if opts.pause > 0 {
			select {
			case <-time.After(opts.pause):
			case <-ctx.Done():
				return nil, nil, 0, ctx.Err()
			}
		}
	}
	return samples, refs, negative, nil
}

func summarize(ms []float64) latencies {
	s := slices.Clone(ms)
	slices.Sort(s)
	q := func(p float64) float64 {
		// nearest rank
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	var sum float64
	for _, v := range s {
		sum += v
	}
	return latencies{p50: q(0.50), p90: q(0.90), p99: q(0.99), max: s[len(s)-1], mean: sum / float64(len(s))}
}

func printTable(w io.Writer, results []result) {
	if len(results) == 0 {
		return
	}
	if results[0].mode == modeEnforce {
		printEnforceTable(w, results)
		return
	}
	fmt.Fprintln(w, "| RBAC objects in cluster | in scope (Unexpected findings) | writes | p50 ms | p90 ms | p99 ms | max ms | manager RSS / HWM after setup (MB) | manager RSS / HWM after writes (MB) | of which anon / file after writes (MB) | status current after | reference: update -> own watch event p50 / p99 ms |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range results {
		fmt.Fprintf(w, "| %d | %d (%d) | %d | %.1f | %.1f | %.1f | %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %s | %.1f / %.1f |\n",
			r.objects, r.inScope, r.unexpected, r.writes, r.lat.p50, r.lat.p90, r.lat.p99, r.lat.max,
			harness.MB(r.memSetup.RSS), harness.MB(r.memSetup.HWM), harness.MB(r.memAfter.RSS), harness.MB(r.memAfter.HWM), harness.MB(r.memAfter.Anon), harness.MB(r.memAfter.File), r.ready.Round(time.Millisecond), r.ref.p50, r.ref.p99)
	}
	for _, r := range results {
		if r.negative > 0 {
			fmt.Fprintf(w, "\nN=%d: %d write(s) had their status event arrive before their Role event (negative latency, kept in the figures).\n", r.objects, r.negative)
		}
	}
}

func errorsJoin(err, extra error) error {
	if extra == nil {
		return err
	}
	return errors.Join(err, extra)
}

func printEnforceTable(w io.Writer, results []result) {
	fmt.Fprintln(w, "| RBAC objects in cluster | declared Roles tampered (Unexpected findings) | writes | p50 ms | p90 ms | p99 ms | max ms | mean ms | manager RSS / HWM after setup (MB) | manager RSS / HWM after writes (MB) | of which anon / file after writes (MB) | status current after | reference: update -> own watch event p50 / p99 ms | UID changes / deletes (access gaps) | Roles deleted on purpose | other events before the revert | journal entries |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range results {
		fmt.Fprintf(w, "| %d | %d (%d) | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %s | %.1f / %.1f | %d / %d | %d | %d | %d |\n",
			r.objects, r.scoped, r.unexpected, r.writes, r.lat.p50, r.lat.p90, r.lat.p99, r.lat.max, r.lat.mean,
			harness.MB(r.memSetup.RSS), harness.MB(r.memSetup.HWM), harness.MB(r.memAfter.RSS), harness.MB(r.memAfter.HWM), harness.MB(r.memAfter.Anon), harness.MB(r.memAfter.File),
			r.ready.Round(time.Millisecond), r.ref.p50, r.ref.p99, r.enforce.uidChanges, r.enforce.deletes, r.enforce.deleted, r.enforce.between,
			r.enforce.journal)
	}
}
