package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/marina-dcos/marina/internal/agent/internal/fsutil"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// Checkpoint file names.
const (
	agentIDFile   = "agent_id"
	frameworkFile = "framework.json"
	taskFile      = "task.json"
	updatesFile   = "updates"
	executorDir   = "executor"
)

// ErrBadID is returned for framework or task ids that cannot name a directory.
var ErrBadID = errors.New("id is not usable as a path element")

// checkID rejects ids that would escape or confuse the checkpoint and sandbox layout.
func checkID(id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 255 || strings.ContainsAny(id, "/\\\x00") {
		return fmt.Errorf("%w: %q", ErrBadID, id)
	}
	return nil
}

// layout names the agent's directories.
type layout struct{ root string }

func (l layout) meta() string                   { return filepath.Join(l.root, "meta") }
func (l layout) sandboxes() string              { return filepath.Join(l.root, "sandboxes") }
func (l layout) agentID() string                { return filepath.Join(l.meta(), agentIDFile) }
func (l layout) frameworks() string             { return filepath.Join(l.meta(), "frameworks") }
func (l layout) trash() string                  { return filepath.Join(l.meta(), "trash") }
func (l layout) framework(fw string) string     { return filepath.Join(l.frameworks(), fw) }
func (l layout) tasks(fw string) string         { return filepath.Join(l.framework(fw), "tasks") }
func (l layout) task(fw, task string) string    { return filepath.Join(l.tasks(fw), task) }
func (l layout) sandbox(fw, task string) string { return filepath.Join(l.sandboxes(), fw, task) }

// taskRecord is task.json: what the agent must remember of a task across restarts.
type taskRecord struct {
	FrameworkID string         `json:"framework_id"`
	Task        mesos.TaskInfo `json:"task"`
	ContainerID string         `json:"container_id,omitempty"`
	Executor    string         `json:"executor,omitempty"`
	Sandbox     string         `json:"sandbox,omitempty"`
	// KillRequested survives restarts so a kill interrupted by one is finished by the next
	// agent, and the task's end is reported as TASK_KILLED.
	KillRequested bool          `json:"kill_requested,omitempty"`
	KillGrace     time.Duration `json:"kill_grace,omitempty"`
	// HealthKilled marks a kill asked by the task's failing health check.
	HealthKilled bool `json:"health_killed,omitempty"`
	// Phantom marks a record kept only to deliver an update about a task the agent never ran
	// (TASK_LOST for a kill of an unknown task).
	Phantom bool `json:"phantom,omitempty"`
}

// updateRecord is one line of a task's updates log: a status update, or the acknowledgement of
// one.
type updateRecord struct {
	Status *mesos.TaskStatus `json:"status,omitempty"`
	Ack    []byte            `json:"ack,omitempty"`
}

// writeJSON replaces path with v's JSON, durably, before it returns.
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return fsutil.WriteAtomic(path, b, 0o600)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return nil
}

// checkpointJSON replaces path with v's JSON at once, which survives the agent's crash, and
// has the syncer make it durable with its directory, which may be new, in the next batch. It
// returns that batch.
func (a *Agent) checkpointJSON(path string, v any) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("checkpoint: %w", err)
	}
	if err := fsutil.Replace(path, b, 0o600); err != nil {
		return 0, err
	}
	return a.sync.Mark(path, dir, filepath.Dir(dir)), nil
}

// appendUpdate appends rec to a task's updates log, as checkpointJSON writes: at once, durably
// in the returned batch.
func (a *Agent) appendUpdate(dir string, rec updateRecord) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	path := filepath.Join(dir, updatesFile)
	if err := fsutil.Append(path, append(b, '\n')); err != nil {
		return 0, err
	}
	return a.sync.Mark(path, dir), nil
}

// replayUpdates reads a task's updates log: the updates not yet acknowledged, in order, and the
// latest update of all. A torn last line (a crash mid-append) is ignored.
func replayUpdates(dir string) (pending []mesos.TaskStatus, latest *mesos.TaskStatus, err error) {
	b, err := os.ReadFile(filepath.Join(dir, updatesFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), mesos.MaxRecordSize)
	for sc.Scan() {
		var rec updateRecord
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		switch {
		case rec.Status != nil:
			st := *rec.Status
			pending = append(pending, st)
			latest = &st
		case rec.Ack != nil:
			for i := range pending {
				if bytes.Equal(pending[i].UUID, rec.Ack) {
					pending = append(pending[:i], pending[i+1:]...)
					break
				}
			}
		}
	}
	return pending, latest, sc.Err()
}
