// Package marathon holds the wire types of the Marathon REST API v2 as Marina serves it: apps and
// their containers, networks, health and readiness checks, constraints and strategies; groups;
// tasks; deployments; the launch queue; /v2/info; and the event-stream payloads.
//
// The JSON shapes are Marathon's own (the RAML spec of record), so existing clients and app
// definitions work unchanged. The package is a leaf: it imports nothing from Marina and holds no
// state.
//
// Data enters through the strict decoders (DecodeApp, DecodeAppPatch, DecodeGroup, DecodeEvent...),
// which reject malformed JSON with a *SyntaxError and unknown fields or mistyped values with a
// *DecodeError listing every problem with its JSON path; Marathon answers both with 400 ("Invalid
// JSON"). Validate returns a *ValidationError, Marathon's 422 ("Object is not valid"). An app
// goes through three steps, each a method beside the type:
//
//	app, err := marathon.DecodeApp(body) // strict decoding
//	if verr := app.Validate(); verr != nil { ... } // every problem, Marathon style paths
//	app.ApplyDefaults()                 // Normalize, then Marathon's defaults
//
// Normalize turns deprecated fields (ports, uris, ipAddress, container.docker.network,
// container.docker.portMappings) into their canonical replacements and makes ids absolute.
// ApplyDefaults fills in every default the RAML declares, so the marshalled app reads like
// Marathon's GET /v2/apps output. Validate accepts both the deprecated and the canonical form, and
// an app that validates before ApplyDefaults validates after it.
//
// Read-only fields that GET adds (task counts, deployments, tasks, lastTaskFailure, tasksStats,
// readinessCheckResults) live on App too; DecodeApp rejects them as a POST body would, DecodeAppInfo
// accepts them, and ReadOnlyStripped drops them.
package marathon
