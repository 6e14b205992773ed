//go:build !linux

package loadgen

import (
	"errors"
	"time"
)

var errNoProc = errors.New("process CPU time and peak memory are read from /proc, which only Linux has")

// ProcCPU is not available without /proc.
func ProcCPU(int) (time.Duration, error) { return 0, errNoProc }

// PeakRSS is not available without /proc.
func PeakRSS(int) (int64, error) { return 0, errNoProc }

// ResetPeakRSS is not available without /proc.
func ResetPeakRSS(int) error { return errNoProc }

// ListeningPID is not available without /proc.
func ListeningPID(int) (int, error) { return 0, errNoProc }
