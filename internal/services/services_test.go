package services_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/marina-dcos/marina/internal/api/marathon"
)

func TestCreateAppRuns(t *testing.T) {
	_, api := newServicesCluster(t, 1, 2)
	var created marathon.App
	h := api.json("POST", "/v2/apps", sleeper("/web", 5), http.StatusCreated, &created)
	if created.Version == "" || len(created.Deployments) != 1 || h.Get("Location") != "/v2/apps/web" {
		t.Fatalf("created %+v, headers %v", created, h)
	}
	waitRunning(t, api, "/web", 5, 30*time.Second)
}
