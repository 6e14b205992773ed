package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildRedpanda builds the slim Redpanda Connect of the module in src
// (bench/redpanda-connect: its own go.mod, only the kafka and sql
// components) into out with the go command on PATH, unless out is newer
// than every file of src. The first build downloads its modules from the
// Go module proxy (about 15 minutes here); linking alone takes 1–2.
func BuildRedpanda(ctx context.Context, src, out string) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("redpanda connect source: %w", err)
	}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
		return fmt.Errorf("redpanda connect source: %w", err)
	}
	if fresh, err := newerThan(out, abs); err != nil || fresh {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir = abs
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build redpanda connect in %s: %w\n%s", abs, err, b)
	}
	return nil
}

// newerThan reports whether file exists and is newer than every file in
// dir.
func newerThan(file, dir string) (bool, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return false, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("redpanda connect source: %w", err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return false, fmt.Errorf("redpanda connect source: %w", err)
		}
		if !info.ModTime().Before(fi.ModTime()) {
			return false, nil
		}
	}
	return true, nil
}
