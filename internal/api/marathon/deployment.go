package marathon

// Deployment actions.
const (
	ActionStartApplication   = "StartApplication"
	ActionStopApplication    = "StopApplication"
	ActionScaleApplication   = "ScaleApplication"
	ActionRestartApplication = "RestartApplication"
	ActionStartPod           = "StartPod"
	ActionStopPod            = "StopPod"
	ActionScalePod           = "ScalePod"
	ActionRestartPod         = "RestartPod"
	ActionResolveArtifacts   = "ResolveArtifacts"
)

// Deployment is a running deployment as GET /v2/deployments lists it (RAML
// deploymentEventsInfo.DeploymentStepInfo).
type Deployment struct {
	ID             string                 `json:"id"`
	Version        string                 `json:"version"`
	AffectedApps   []string               `json:"affectedApps"`
	AffectedPods   []string               `json:"affectedPods"`
	Steps          []DeploymentStep       `json:"steps"`
	CurrentActions []DeploymentActionInfo `json:"currentActions"`
	CurrentStep    int                    `json:"currentStep"`
	TotalSteps     int                    `json:"totalSteps"`
}

// DeploymentStep is a set of actions performed together.
type DeploymentStep struct {
	Actions []DeploymentAction `json:"actions"`
}

// DeploymentSteps is the body answering a dry-run group change (PUT /v2/groups?dryRun=true).
type DeploymentSteps struct {
	Steps []DeploymentStep `json:"steps"`
}

// DeploymentAction is one action on one app or pod.
type DeploymentAction struct {
	Action string `json:"action"`
	App    string `json:"app,omitempty"`
	Pod    string `json:"pod,omitempty"`
}

// DeploymentActionInfo is a current action with its readiness check results.
type DeploymentActionInfo struct {
	Action                string                     `json:"action"`
	App                   string                     `json:"app,omitempty"`
	Pod                   string                     `json:"pod,omitempty"`
	ReadinessCheckResults []TaskReadinessCheckResult `json:"readinessCheckResults"`
}

// DeploymentResult is the body answering a change that started a deployment
// (RAML deploymentResult.DeploymentResult).
type DeploymentResult struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
}

// DeploymentPlan is a whole deployment as deployment events carry it: the group tree before
// and after, and the steps between them.
type DeploymentPlan struct {
	ID       string           `json:"id"`
	Original *Group           `json:"original,omitempty"`
	Target   *Group           `json:"target,omitempty"`
	Steps    []DeploymentStep `json:"steps"`
	Version  string           `json:"version"`
}
