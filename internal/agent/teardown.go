package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/marina-dcos/marina/internal/agent/docker"
	"github.com/marina-dcos/marina/internal/agent/process"
)

// KillTasks kills every task checkpointed under workDir and removes their cgroups, without a
// running agent: Close leaves tasks running on purpose, so whoever tears a node down for good
// (marina down, test clusters) calls this after Close. Nothing is reported to the masters, and
// the checkpoint stays; an agent started on workDir later reports the tasks failed.
func KillTasks(ctx context.Context, workDir string) error {
	l := layout{root: workDir}
	fws, err := os.ReadDir(l.frameworks())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, fw := range fws {
		tasks, err := os.ReadDir(l.tasks(fw.Name()))
		if err != nil {
			continue
		}
		for _, t := range tasks {
			dir := filepath.Join(l.task(fw.Name(), t.Name()), executorDir)
			if err := process.Destroy(ctx, dir); err != nil {
				errs = append(errs, err)
			}
			if err := docker.Destroy(ctx, nil, dir); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
