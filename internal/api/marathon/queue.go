package marathon

import "encoding/json"

// Queue is the body of GET /v2/queue: what waits to be launched (RAML queue.Queue).
type Queue struct {
	Queue []QueueItem `json:"queue"`
}

// QueueItem is one app (or pod) with instances left to launch.
type QueueItem struct {
	App                    *App                   `json:"app,omitempty"`
	Pod                    json.RawMessage        `json:"pod,omitempty"` // pods are not run by Marina
	Count                  int                    `json:"count"`
	Role                   string                 `json:"role,omitempty"`
	Delay                  QueueDelay             `json:"delay"`
	Since                  string                 `json:"since"`
	ProcessedOffersSummary ProcessedOffersSummary `json:"processedOffersSummary"`
	LastUnusedOffers       []UnusedOffer          `json:"lastUnusedOffers,omitzero"`
}

// QueueDelay is the launch backoff of a queued app.
type QueueDelay struct {
	TimeLeftSeconds int64 `json:"timeLeftSeconds"`
	Overdue         bool  `json:"overdue"`
}

// ProcessedOffersSummary counts the offers considered for a queued app and why they were declined.
type ProcessedOffersSummary struct {
	ProcessedOffersCount       int                 `json:"processedOffersCount"`
	UnusedOffersCount          int                 `json:"unusedOffersCount"`
	LastUnusedOfferAt          string              `json:"lastUnusedOfferAt,omitempty"`
	LastUsedOfferAt            string              `json:"lastUsedOfferAt,omitempty"`
	RejectSummaryLastOffers    []DeclinedOfferStep `json:"rejectSummaryLastOffers,omitzero"`
	RejectSummaryLaunchAttempt []DeclinedOfferStep `json:"rejectSummaryLaunchAttempt,omitzero"`
}

// DeclinedOfferStep counts the offers declined for one reason (InsufficientCpus...).
type DeclinedOfferStep struct {
	Reason    string `json:"reason"`
	Declined  int    `json:"declined"`
	Processed int    `json:"processed"`
}

// UnusedOffer is an offer that could not be used, and why.
type UnusedOffer struct {
	Offer     Offer    `json:"offer"`
	Reason    []string `json:"reason"`
	Timestamp string   `json:"timestamp"`
}

// Offer is a resource offer as the queue shows it.
type Offer struct {
	ID         string           `json:"id"`
	Hostname   string           `json:"hostname"`
	AgentID    string           `json:"agentId"`
	Resources  []OfferResource  `json:"resources"`
	Attributes []AgentAttribute `json:"attributes"`
}

// OfferResource is one resource of an offer.
type OfferResource struct {
	Name   string        `json:"name"`
	Role   string        `json:"role"`
	Scalar *float64      `json:"scalar,omitempty"`
	Ranges []NumberRange `json:"ranges,omitzero"`
	Set    []string      `json:"set,omitzero"`
}

// AgentAttribute is one attribute of an agent.
type AgentAttribute struct {
	Name   string        `json:"name"`
	Text   string        `json:"text,omitempty"`
	Scalar *float64      `json:"scalar,omitempty"`
	Ranges []NumberRange `json:"ranges,omitzero"`
	Set    []string      `json:"set,omitzero"`
}

// NumberRange is an inclusive range, such as a port range.
type NumberRange struct {
	Begin int64 `json:"begin"`
	End   int64 `json:"end"`
}
