//go:build unix

package drift

import "syscall"

// processCPU returns the CPU time the process has used, user and system, in
// nanoseconds. On a shared machine it shows what an operation costs, while wall time
// also counts the time other processes held the cores.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
