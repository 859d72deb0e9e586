// Package auth authenticates HTTP requests to a node's listeners (master, services, agent)
// with one middleware. With a cluster token configured, a request passes when it carries
// "Authorization: Bearer <token>", or the session cookie that the login form sets; public
// paths (health checks, the login page, console assets) always pass. API clients that fail get
// 401 with WWW-Authenticate; a browser loading a page is sent to the login page instead.
//
// The session cookie never holds the token: its value is an expiry and an HMAC of it keyed by
// the token, so it is valid on every node of the cluster, expires, and dies when the token
// changes. It is HttpOnly, SameSite=Strict, and Secure under TLS. Requests authenticated by the
// cookie that change anything must also come from the same origin (Sec-Fetch-Site or Origin),
// and so must the login and logout forms. The token is never read from a URL.
//
// Routes the middleware serves itself: GET and POST /login, POST /logout.
package auth
