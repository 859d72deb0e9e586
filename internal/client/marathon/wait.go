package marathon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	api "github.com/marina-dcos/marina/internal/api/marathon"
)

// DefaultPollInterval is how often WaitForDeployment polls /v2/deployments besides following
// the event stream.
const DefaultPollInterval = 2 * time.Second

// ErrDeploymentFailed matches a *DeploymentFailedError.
var ErrDeploymentFailed = errors.New("deployment failed")

// DeploymentFailedError reports a deployment_failed event for the deployment waited for.
type DeploymentFailedError struct {
	ID     string
	Reason string // may be empty
}

func (e *DeploymentFailedError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("deployment %s failed", e.ID)
	}
	return fmt.Sprintf("deployment %s failed: %s", e.ID, e.Reason)
}

// Is matches ErrDeploymentFailed.
func (e *DeploymentFailedError) Is(target error) bool { return target == ErrDeploymentFailed }

// Progress is a step of a deployment that started, succeeded or failed.
type Progress struct {
	DeploymentID string
	// Event is deployment_info (a step started), deployment_step_success or
	// deployment_step_failure; "poll" when /v2/deployments showed a new current step while the
	// event stream was down.
	Event string
	// Step is the step's 1-based position in the plan (0 when not found); TotalSteps the
	// plan's number of steps.
	Step, TotalSteps int
	Actions          []api.DeploymentAction
}

// WaitOptions tune WaitForDeploymentWith.
type WaitOptions struct {
	// Progress, when set, is called for each step event of the deployment, in order.
	Progress func(Progress)
	// PollInterval is how often /v2/deployments is polled; default DefaultPollInterval.
	PollInterval time.Duration
}

// WaitForDeployment waits until a deployment ends: nil when it succeeded or is no longer
// listed, a *DeploymentFailedError when it failed, ctx's error when ctx ended first.
func (c *Client) WaitForDeployment(ctx context.Context, id string) error {
	return c.WaitForDeploymentWith(ctx, id, WaitOptions{})
}

// deploymentEventTypes are the event types a wait subscribes to.
var deploymentEventTypes = []string{
	api.EventDeploymentInfoType, api.EventDeploymentStepSuccessType, api.EventDeploymentStepFailureType,
	api.EventDeploymentSuccessType, api.EventDeploymentFailedType,
}

// WaitForDeploymentWith is WaitForDeployment with progress reports and a poll interval.
//
// It follows the event stream for deployment_success or deployment_failed of the deployment,
// and polls /v2/deployments, first right after subscribing and then every PollInterval: a
// deployment no longer listed has ended (Marathon lists a deployment until it ends). An ending
// seen only by polling is reported as success, after a short grace for the terminal event to
// arrive on a stream that is up: a failure whose event was lost cannot be told apart. A
// broken stream is subscribed again at the next poll.
func (c *Client) WaitForDeploymentWith(ctx context.Context, id string, opts WaitOptions) error {
	if id == "" {
		return errors.New("wait for deployment: no deployment id")
	}
	interval := opts.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	grace := min(interval, 500*time.Millisecond)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &waiter{c: c, id: id, opts: opts}
	w.subscribe(ctx)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case ev, ok := <-w.events:
				if done, err := w.handle(ev, ok); done {
					return err
				}
				continue
			case <-ticker.C:
			}
		}
		listed, err := w.poll(ctx)
		if err != nil {
			return err
		}
		if !listed {
			return w.drain(ctx, grace)
		}
		if w.events == nil {
			w.subscribe(ctx)
		}
	}
}

// waiter is the state of one WaitForDeploymentWith.
type waiter struct {
	c        *Client
	id       string
	opts     WaitOptions
	events   <-chan Event // nil while the stream is down
	stopSub  context.CancelFunc
	lastStep int // the current step last reported by polling
}

func (w *waiter) subscribe(ctx context.Context) {
	sctx, cancel := context.WithCancel(ctx)
	ch, err := w.c.Events(sctx, deploymentEventTypes...)
	if err != nil {
		cancel()
		return
	}
	w.events, w.stopSub = ch, cancel
}

// handle handles a value from the stream; done reports that the deployment ended, with err.
func (w *waiter) handle(ev Event, ok bool) (done bool, err error) {
	if !ok || ev.Err != nil {
		w.events = nil
		w.stopSub()
		return false, nil
	}
	switch ev.Type {
	case api.EventDeploymentSuccessType, api.EventDeploymentFailedType:
		var de api.DeploymentEvent
		if json.Unmarshal(ev.Data, &de) != nil || de.ID != w.id && (de.Plan == nil || de.Plan.ID != w.id) {
			return false, nil
		}
		if ev.Type == api.EventDeploymentFailedType {
			return true, &DeploymentFailedError{ID: w.id, Reason: de.Reason}
		}
		return true, nil
	case api.EventDeploymentInfoType, api.EventDeploymentStepSuccessType, api.EventDeploymentStepFailureType:
		var se api.DeploymentStepEvent
		if json.Unmarshal(ev.Data, &se) != nil || se.Plan.ID != w.id {
			return false, nil
		}
		step := stepIndex(se.Plan.Steps, se.CurrentStep)
		w.lastStep = max(w.lastStep, step)
		w.report(Progress{Event: ev.Type, Step: step, TotalSteps: len(se.Plan.Steps), Actions: se.CurrentStep.Actions})
	}
	return false, nil
}

// poll reports whether the deployment is still listed. Transient failures count as listed;
// an answer that will not change (401, 403, 404...) is an error.
func (w *waiter) poll(ctx context.Context) (bool, error) {
	ds, err := w.c.Deployments(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.Status < 500 {
			return false, fmt.Errorf("wait for deployment %s: %w", w.id, err)
		}
		return true, nil
	}
	for _, d := range ds {
		if d.ID != w.id {
			continue
		}
		if w.events == nil && d.CurrentStep > w.lastStep {
			w.lastStep = d.CurrentStep
			p := Progress{Event: "poll", Step: d.CurrentStep, TotalSteps: d.TotalSteps}
			if d.CurrentStep >= 1 && d.CurrentStep <= len(d.Steps) {
				p.Actions = d.Steps[d.CurrentStep-1].Actions
			}
			w.report(p)
		}
		return true, nil
	}
	return false, nil
}

// drain waits up to grace for the terminal event of a deployment that polling saw end.
func (w *waiter) drain(ctx context.Context, grace time.Duration) error {
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for w.events != nil {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		case ev, ok := <-w.events:
			if done, err := w.handle(ev, ok); done {
				return err
			}
		}
	}
	return nil
}

func (w *waiter) report(p Progress) {
	if w.opts.Progress != nil {
		p.DeploymentID = w.id
		w.opts.Progress(p)
	}
}

// stepIndex returns the 1-based position of step in steps, or 0.
func stepIndex(steps []api.DeploymentStep, step api.DeploymentStep) int {
	for i, s := range steps {
		if reflect.DeepEqual(s.Actions, step.Actions) {
			return i + 1
		}
	}
	return 0
}
