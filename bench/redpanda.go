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
// components) into out with the go command on PATH. The first build
// downloads its modules from the Go module proxy.
func BuildRedpanda(ctx context.Context, src, out string) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("redpanda connect source: %w", err)
	}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
		return fmt.Errorf("redpanda connect source: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir = abs
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build redpanda connect in %s: %w\n%s", abs, err, b)
	}
	return nil
}
