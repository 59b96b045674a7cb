package audit

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rbac-guardrails/rbac-guardrails/internal/drift"
)

// +kubebuilder:rbac:groups="",namespace=system,resources=configmaps,verbs=get;list;create;update;delete

// Usage is kept in the cluster as one ConfigMap per day (accesses last seen that
// day), so it survives a restart and expires with the window without rewriting everything.
const (
	usagePrefix   = "rbac-guardrails-usage-"
	usageDayLabel = "guardrails.rbac-guardrails.io/usage-day"
	usageKey      = "usage.jsonl.gz"
	// maxStoredBytes keeps a day's ConfigMap well below the 1 MiB object limit.
	maxStoredBytes = 900 << 10
)

// Store persists an Aggregator's days as ConfigMaps in Namespace: it loads them on
// start, writes the days that changed every Interval and on stop, and deletes days
// that left the window.
type Store struct {
	Client    client.Client
	Reader    client.Reader // uncached: ConfigMaps are not watched
	Namespace string
	Usage     *Aggregator
	Interval  time.Duration
	// Loaded is closed once stored usage is loaded; the usage is incomplete before.
	Loaded chan struct{}
	// Follower, when set, has its checkpoint saved after each flush that saved all
	// usage, so the checkpoint never runs ahead of the usage of the lines before it.
	Follower *Follower
}

// NeedLeaderElection: one writer.
func (s *Store) NeedLeaderElection() bool { return true }

// Start loads stored usage, then flushes periodically until ctx is done.
func (s *Store) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("usage-store")
	if s.Interval <= 0 {
		s.Interval = time.Minute
	}
	for {
		err := s.Load(ctx)
		if err == nil {
			break
		}
		log.Error(err, "Loading stored usage; retrying")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
	if s.Loaded != nil {
		close(s.Loaded)
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return s.Flush(fctx)
		case <-t.C:
			if err := s.Flush(ctx); err != nil {
				log.Error(err, "Writing usage; retrying at the next interval")
			}
		}
	}
}

// Load merges every stored day still in the window into the aggregator and deletes the others.
func (s *Store) Load(ctx context.Context) error {
	var list corev1.ConfigMapList
	if err := s.Reader.List(ctx, &list, client.InNamespace(s.Namespace), client.HasLabels{usageDayLabel}); err != nil {
		return err
	}
	oldest := dayOf(s.Usage.now().Add(-s.Usage.window))
	for i := range list.Items {
		cm := &list.Items[i]
		d, err := strconv.ParseInt(cm.Labels[usageDayLabel], 10, 64)
		if err != nil || d < oldest {
			if err := s.Client.Delete(ctx, cm); client.IgnoreNotFound(err) != nil {
				return err
			}
			continue
		}
		recs, err := decodeDay(cm.BinaryData[usageKey])
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Skipping unreadable stored usage", "configMap", cm.Name)
			continue
		}
		s.Usage.merge(recs)
	}
	return nil
}

// Flush writes the days that changed and deletes the days that left the window, then
// the log follower's checkpoint.
func (s *Store) Flush(ctx context.Context) error {
	var errs []error
	for _, d := range s.Usage.Prune() {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: dayName(d)}}
		if err := s.Client.Delete(ctx, cm); client.IgnoreNotFound(err) != nil {
			errs = append(errs, err)
		}
	}
	// Taken before the usage: the usage saved then covers every line before it, and a
	// crash replays the lines after it instead of losing their usage.
	var pos *Checkpoint
	if s.Follower != nil {
		pos = s.Follower.position()
	}
	for d, recs := range s.Usage.takeDirty() {
		var err error
		if len(recs) == 0 {
			err = client.IgnoreNotFound(s.Client.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: dayName(d)}}))
		} else {
			err = s.write(ctx, d, recs)
		}
		if err != nil {
			s.Usage.markDirty(d)
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 && pos != nil {
		return s.Follower.save(ctx, pos)
	}
	return errors.Join(errs...)
}

func dayName(d int64) string {
	return usagePrefix + time.Unix(d*int64(day/time.Second), 0).UTC().Format("20060102")
}

func (s *Store) write(ctx context.Context, d int64, recs []record) error {
	data, err := encodeDay(recs)
	if err != nil {
		return err
	}
	name := dayName(d)
	cm := &corev1.ConfigMap{}
	err = s.Reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: name}, cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: name,
			Labels: map[string]string{usageDayLabel: strconv.FormatInt(d, 10)}},
			BinaryData: map[string][]byte{usageKey: data}}
		return s.Client.Create(ctx, cm)
	case err != nil:
		return err
	}
	cm.BinaryData = map[string][]byte{usageKey: data}
	return s.Client.Update(ctx, cm)
}

// record is one access with its count and last use, as stored.
type record struct {
	a     Access
	count uint64
	last  int64
}

// encodeDay writes records as gzipped JSON lines of string arrays: compact once
// compressed, and any name round-trips. When too big, the least recently used
// records are left out: losing them can only over-report unused permissions, which
// are advisory.
func encodeDay(recs []record) ([]byte, error) {
	slices.SortFunc(recs, func(a, b record) int { return cmp.Compare(b.last, a.last) })
	for {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		enc := json.NewEncoder(zw)
		for _, r := range recs {
			a, g := &r.a, &r.a.Grant
			if err := enc.Encode([]string{g.Binding.Kind, g.Binding.Namespace, g.Binding.Name, g.RoleKind, g.RoleName,
				g.Subject.Kind, g.Subject.Namespace, g.Subject.Name, a.Verb, a.APIGroup, a.Resource, a.Subresource,
				a.Namespace, a.Name, a.NonResourceURL, strconv.FormatUint(r.count, 10), strconv.FormatInt(r.last, 10)}); err != nil {
				return nil, err
			}
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		if buf.Len() <= maxStoredBytes || len(recs) == 0 {
			return buf.Bytes(), nil
		}
		eventsDropped.WithLabelValues(DropUsageFull).Add(float64(len(recs) - len(recs)/2))
		recs = recs[:len(recs)/2]
	}
}

func decodeDay(data []byte) ([]record, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("stored usage is not gzip: %w", err)
	}
	// Bound the decompressed size too: the stored form is untrusted input.
	sc := bufio.NewScanner(io.LimitReader(zr, 64<<20))
	sc.Buffer(make([]byte, 0, 64<<10), DefaultMaxLine)
	var out []record
	for sc.Scan() {
		var f []string
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil || len(f) != 17 {
			return out, fmt.Errorf("stored usage line %d is not a 17-field record", len(out)+1)
		}
		r := record{a: Access{Grant: Grant{Binding: drift.ObjectRef{Kind: f[0], Namespace: f[1], Name: f[2]},
			RoleKind: f[3], RoleName: f[4]}, Verb: f[8], APIGroup: f[9], Resource: f[10], Subresource: f[11],
			Namespace: f[12], Name: f[13], NonResourceURL: f[14]}}
		r.a.Grant.Subject.Kind, r.a.Grant.Subject.Namespace, r.a.Grant.Subject.Name = f[5], f[6], f[7]
		if f[5] != "ServiceAccount" {
			r.a.Grant.Subject.APIGroup = "rbac.authorization.k8s.io"
		}
		r.count, _ = strconv.ParseUint(f[15], 10, 64)
		r.last, _ = strconv.ParseInt(f[16], 10, 64)
		out = append(out, r)
	}
	return out, sc.Err()
}

// takeDirty returns, for every day whose stored form is stale, the accesses last
// seen that day (none: the day's ConfigMap is to be deleted).
func (g *Aggregator) takeDirty() map[int64][]record {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[int64][]record, len(g.dirty))
	for d := range g.dirty {
		out[d] = nil
	}
	for k, s := range g.entries {
		if d := unixDay(s.last); g.dirty[d] {
			out[d] = append(out[d], record{a: accessOf(k), count: s.count, last: s.last})
		}
	}
	clear(g.dirty)
	return out
}

func (g *Aggregator) markDirty(d int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dirty[d] = true
}

// merge adds stored records. An access stored under two days (it moved to a later
// day and the earlier day was not rewritten yet) is counted once per copy, which
// only inflates counts; both days are rewritten at the next flush.
func (g *Aggregator) merge(recs []record) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range recs {
		k, ok := r.a.appendKey(nil)
		if !ok {
			continue
		}
		s := g.entries[string(k)]
		if s == nil {
			if len(g.entries) >= g.maxAccesses {
				continue
			}
			s = &stat{}
			g.entries[string(k)] = s
		} else {
			g.dirty[unixDay(s.last)], g.dirty[unixDay(r.last)] = true, true
		}
		s.count += r.count
		s.last = max(s.last, r.last)
	}
	if len(recs) > 0 {
		g.signal()
	}
}
