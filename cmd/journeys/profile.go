package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// envProfile names the variable that makes any subcommand write a CPU
// profile to $JOURNEYS_PROFILE.cpu.pprof while it runs and an allocation
// profile to $JOURNEYS_PROFILE.allocs.pprof when it ends. `journeys bench
// --profile-dir` sets it for the components it starts.
const envProfile = "JOURNEYS_PROFILE"

// startProfile starts the CPU profile when $JOURNEYS_PROFILE is set and
// returns what writes both profiles.
func startProfile() (stop func() error, err error) {
	prefix := os.Getenv(envProfile)
	if prefix == "" {
		return func() error { return nil }, nil
	}
	cpu, err := os.Create(prefix + ".cpu.pprof")
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		cpu.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := cpu.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		f, err := os.Create(prefix + ".allocs.pprof")
		if err != nil {
			return fmt.Errorf("allocation profile: %w", err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			f.Close()
			return fmt.Errorf("allocation profile: %w", err)
		}
		return f.Close()
	}, nil
}
