// Command suggest measures kubectl guardrails suggest on a large audit log: it writes
// an RBAC world and a log of -events Metadata-level events (gzipped, rotated into
// several files, as the API server leaves them), builds the plugin, runs
//
//	kubectl-guardrails suggest --audit-log DIR -f rbac.yaml
//
// as its own process and prints its wall time and peak RSS.
//
//	go run ./test/bench/suggest -events 1000000
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	events := flag.Int("events", 1_000_000, "audit events to write")
	files := flag.Int("files", 4, "rotated log files")
	flag.Parse()
	dir, err := os.MkdirTemp("", "suggest-bench")
	check(err)
	defer os.RemoveAll(dir)
	logs := filepath.Join(dir, "logs")
	check(os.Mkdir(logs, 0o755))

	const namespaces, subjects = 50, 500
	var rbac strings.Builder
	for ns := range namespaces {
		fmt.Fprintf(&rbac, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: app, namespace: ns-%d}\nrules:\n- {apiGroups: [\"\", apps], resources: [pods, configmaps, secrets, services, deployments], verbs: [get, list, watch, create, update, delete]}\n", ns)
		fmt.Fprintf(&rbac, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: app, namespace: ns-%d}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: app}\nsubjects:\n", ns)
		for s := range subjects / namespaces {
			fmt.Fprintf(&rbac, "- {kind: ServiceAccount, name: sa-%d, namespace: ns-%d}\n", s, ns)
		}
	}
	check(os.WriteFile(filepath.Join(dir, "rbac.yaml"), []byte(rbac.String()), 0o600))

	start := time.Now()
	resources := []string{"pods", "configmaps", "services"}
	verbs := []string{"get", "list", "watch"}
	base := time.Now().Add(-24 * time.Hour)
	per := *events / *files
	var size int64
	for f := range *files {
		path := filepath.Join(logs, fmt.Sprintf("audit-%d.log.gz", f))
		out, err := os.Create(path)
		check(err)
		gz := gzip.NewWriter(out)
		w := bufio.NewWriterSize(gz, 1<<20)
		for i := range per {
			n := f*per + i
			ns, sa := n%namespaces, (n/namespaces)%(subjects/namespaces)
			res, verb := resources[n%len(resources)], verbs[(n/7)%len(verbs)]
			ts := base.Add(time.Duration(n) * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000000Z")
			fmt.Fprintf(w, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"%08x-0000-4000-8000-000000000000","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ns-%d/%s","verb":"%s","user":{"username":"system:serviceaccount:ns-%d:sa-%d","uid":"u-%d","groups":["system:serviceaccounts","system:serviceaccounts:ns-%d","system:authenticated"]},"sourceIPs":["10.0.0.1"],"userAgent":"app/v1.0 (linux/amd64)","objectRef":{"resource":"%s","namespace":"ns-%d","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"%s","stageTimestamp":"%s","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"app/ns-%d\" of Role \"app\" to ServiceAccount \"sa-%d/ns-%d\""}}`+"\n",
				n, ns, res, verb, ns, sa, sa, ns, res, ns, ts, ts, ns, sa, ns)
		}
		check(w.Flush())
		check(gz.Close())
		info, err := out.Stat()
		check(err)
		size += info.Size()
		check(out.Close())
	}
	fmt.Printf("wrote %d events in %d gzipped files (%.1f MB) in %s\n", per**files, *files, float64(size)/1e6, time.Since(start).Round(time.Millisecond))

	bin := filepath.Join(dir, "kubectl-guardrails")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kubectl-guardrails")
	build.Stderr = os.Stderr
	check(build.Run())

	cmd := exec.Command(bin, "suggest", "--audit-log", logs, "-f", filepath.Join(dir, "rbac.yaml"))
	cmd.Stderr = os.Stderr
	out, err := os.Create(filepath.Join(dir, "suggested.yaml"))
	check(err)
	cmd.Stdout = out
	t0 := time.Now()
	check(cmd.Run())
	wall := time.Since(t0)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	fmt.Printf("suggest over %d events: %.2f s wall, %.2f s CPU, peak RSS %.0f MB\n", per**files, wall.Seconds(),
		(time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())).Seconds(), float64(ru.Maxrss)/1024)
	data, err := os.ReadFile(out.Name())
	check(err)
	fmt.Printf("first lines of the suggestion:\n%s\n", strings.Join(strings.SplitN(string(data), "\n", 4)[:3], "\n"))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
