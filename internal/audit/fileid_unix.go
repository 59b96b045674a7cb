//go:build unix

package audit

import (
	"fmt"
	"os"
	"syscall"
)

// fileID is "device:inode": what os.SameFile compares, in a form that outlives the process.
func fileID(info os.FileInfo) string {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	return ""
}
