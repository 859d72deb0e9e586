// Package console holds what Marina's web consoles share: the page layout (an html/template),
// the base stylesheet (base.css), the small JavaScript helpers every page uses (console.js:
// building DOM nodes without string concatenation, calling the same-origin REST APIs, following
// a Server-Sent Events stream) and an asset server with content-derived ETags.
//
// Everything is embedded in the binary: no npm, no build step, no CDN, so the consoles work
// air-gapped. Each console (internal/console/services, internal/console/master) embeds its own
// page script and stylesheet, serves them together with these through Assets, and renders its
// one HTML page with WritePage. Pages talk only to their own origin's APIs, so a standby's
// proxying and cookie authentication apply to them unchanged; no token ever appears in a URL.
//
// Answers carry a Content-Security-Policy that allows scripts, styles and connections to the
// same origin only: scripts build the DOM with console.js's h(), which sets text, never HTML.
package console
