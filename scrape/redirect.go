package scrape

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	commoncfg "github.com/prometheus/common/config"
)

// maxRedirects is net/http's own limit.
const maxRedirects = 10

// crossOriginHeader marks, between CheckRedirect and the round tripper, a
// redirected request that left the target's origin. It never goes on the
// wire.
const crossOriginHeader = "X-Promfwd-Cross-Origin"

// redirectClient wraps the target's credentialed transport so that, when
// redirects are followed (follow_redirects, default true, as in
// Prometheus):
//   - no Referer is sent (it would carry the URL's query secrets);
//   - once a redirect leaves the target's origin (scheme, host and port:
//     the same IP on another port is another origin), every later request
//     goes through a transport without credentials (bearer, basic auth)
//     or custom headers; TLS and proxy settings stay.
//
// Credentials are added by prometheus/common's round trippers inside full,
// so they cannot be stripped per request: bare is a second transport built
// from the same config without them.
func redirectClient(cfg commoncfg.HTTPClientConfig, name string, full http.RoundTripper, opts []commoncfg.HTTPClientOption) (*http.Client, error) {
	if !cfg.FollowRedirects {
		return &http.Client{Transport: full, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}, nil
	}
	bareCfg := commoncfg.HTTPClientConfig{
		TLSConfig:       cfg.TLSConfig,
		ProxyConfig:     cfg.ProxyConfig,
		EnableHTTP2:     cfg.EnableHTTP2,
		FollowRedirects: true,
	}
	bare, err := commoncfg.NewRoundTripperFromConfig(bareCfg, name, opts...)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &originTransport{full: full, bare: bare}, CheckRedirect: checkRedirect}, nil
}

// checkRedirect drops Referer and marks requests that left the origin.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errors.New("stopped after 10 redirects")
	}
	req.Header.Del("Referer")
	req.Header.Del(crossOriginHeader)
	// Each redirected request gets the first request's headers, not the
	// previous one's, so every hop is checked again. append(via[1:], req)
	// would write into net/http's via array.
	home := origin(via[0].URL)
	left := origin(req.URL) != home
	for _, r := range via[1:] {
		left = left || origin(r.URL) != home
	}
	if left {
		req.Header.Set(crossOriginHeader, "1")
	}
	return nil
}

// origin is scheme://host:port with the scheme's default port filled in.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return u.Scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// originTransport sends marked requests through bare, the others through
// full.
type originTransport struct {
	full, bare http.RoundTripper
}

func (t *originTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get(crossOriginHeader) == "" {
		return t.full.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Del(crossOriginHeader)
	return t.bare.RoundTrip(r)
}

// CloseIdleConnections closes both transports' idle connections.
func (t *originTransport) CloseIdleConnections() {
	for _, rt := range []http.RoundTripper{t.full, t.bare} {
		if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}
