package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input names the flag to fix and writes no archive.
func TestRunRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "manager")
	if err := os.WriteFile(bin, []byte("not really a binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		binary, tag, want string
	}{
		"no binary":         {tag: "rbac-guardrails:dev", want: "-binary is required"},
		"unreadable binary": {binary: filepath.Join(dir, "missing"), tag: "rbac-guardrails:dev", want: "-binary:"},
		"bad tag":           {binary: bin, tag: "Not A Tag!", want: "-tag \"Not A Tag!\""},
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".tar")
			err := run(tc.binary, out, tc.tag, "amd64")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("an archive was written for bad input: %v", err)
			}
		})
	}
}
