package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/image"
)

// ensureImage pulls ref unless the engine has it already and force is false.
func (e *Executor) ensureImage(ctx context.Context, ref string, force bool) error {
	if !force {
		_, err := e.cli.ImageInspect(ctx, ref)
		if err == nil {
			return nil
		}
		if !isNotFound(err) {
			return fmt.Errorf("inspect image %s: %w", ref, err)
		}
	}
	e.log.Info("pulling image", "image", ref, "forced", force)
	rc, err := e.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return fmt.Errorf("pull image %s: %w", ref, err)
	}
	defer rc.Close()
	if err := pullResult(rc); err != nil {
		return fmt.Errorf("pull image %s: %w", ref, err)
	}
	return nil
}

// pullResult reads a pull's progress stream to its end and returns the error it reports, if any:
// the engine answers 200 to a pull and says in the stream whether it failed.
func pullResult(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read progress: %w", err)
		}
		switch {
		case msg.ErrorDetail != nil && msg.ErrorDetail.Message != "":
			return errors.New(msg.ErrorDetail.Message)
		case msg.Error != "":
			return errors.New(msg.Error)
		}
	}
}
