package scrape

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	commoncfg "github.com/prometheus/common/config"
)

// endpoint is where a target's requests go and how the target is named in
// results and errors.
type endpoint struct {
	reqURL     string // URL put on the request (http://localhost/metrics for unix://)
	display    string // URL without userinfo and with query values redacted
	socketPath string // non-empty for unix:// targets
}

// parseEndpoint validates the configured URL. Over a unix socket the HTTP
// request goes to metricsPath on host "localhost".
func parseEndpoint(raw, metricsPath string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors echo the input, which may hold a password.
		return endpoint{}, errors.New("url is not valid")
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return endpoint{}, fmt.Errorf("url %s has no host", redactURL(u))
		}
		return endpoint{reqURL: u.String(), display: redactURL(u)}, nil
	case "unix":
		if u.Host != "" || u.Path == "" || u.User != nil {
			return endpoint{}, fmt.Errorf("url %s: want unix:///absolute/path/to.sock", redactURL(u))
		}
		if !strings.HasPrefix(metricsPath, "/") {
			return endpoint{}, fmt.Errorf("metrics path %q must start with /", metricsPath)
		}
		return endpoint{
			reqURL:     "http://localhost" + metricsPath,
			display:    "unix://" + u.Path + ":" + metricsPath,
			socketPath: u.Path,
		}, nil
	case "":
		return endpoint{}, errors.New("url has no scheme (want http, https or unix)")
	default:
		return endpoint{}, fmt.Errorf("url scheme %q not supported (want http, https or unix)", u.Scheme)
	}
}

// RedactURL is redactURL for a URL string, for the other packages that show
// a configured URL (sinks' logs and errors, `promfwd check`). A string that
// does not parse is shown as "<invalid url>": it may hold anything.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid url>"
	}
	return redactURL(u)
}

// redactURL renders u without userinfo or fragment and with every query value
// replaced by <secret>: tokens are often passed as query parameters, and the
// result ends up in logs, errors and metric labels.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	c.RawQuery = ""
	s := c.String()
	if u.RawQuery == "" {
		return s
	}
	var b strings.Builder
	b.WriteString(s)
	b.WriteByte('?')
	for i, kv := range strings.Split(u.RawQuery, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, _, hasValue := strings.Cut(kv, "=")
		b.WriteString(k)
		if hasValue {
			b.WriteString("=<secret>")
		}
	}
	return b.String()
}

// newHTTPClient builds the target's client through prometheus/common, which
// re-reads bearer token and password files on every request (so rotated
// credentials are picked up) and reloads TLS files when they change.
func newHTTPClient(cfg commoncfg.HTTPClientConfig, name string, ep endpoint) (*http.Client, error) {
	var opts []commoncfg.HTTPClientOption
	if ep.socketPath != "" {
		path := ep.socketPath
		var d net.Dialer
		opts = append(opts, commoncfg.WithDialContextFunc(func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}))
	}
	rt, err := commoncfg.NewRoundTripperFromConfig(cfg, name, opts...)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	c, err := redirectClient(cfg, name, rt, opts)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	return c, nil
}

// secretValues lists the request header values that carry credentials, so
// that an answer echoing them can be redacted before it reaches an error.
// It reads the request as it went on the wire (resp.Request), after the
// credential round trippers added their headers.
func secretValues(req *http.Request, cfg *commoncfg.HTTPClientConfig) []string {
	if req == nil {
		return nil
	}
	var out []string
	add := func(v string) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	for _, v := range req.Header.Values("Authorization") {
		add(v)
		scheme, cred, ok := strings.Cut(v, " ")
		if !ok {
			continue
		}
		add(cred)
		if strings.EqualFold(scheme, "Basic") {
			if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
				if _, pw, ok := strings.Cut(string(dec), ":"); ok {
					add(pw)
				}
			}
		}
	}
	if pw, ok := req.URL.User.Password(); ok {
		add(pw)
	}
	for _, vs := range req.URL.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	if cfg.HTTPHeaders != nil {
		for name, h := range cfg.HTTPHeaders.Headers {
			if len(h.Secrets) == 0 && len(h.Files) == 0 {
				continue
			}
			for _, v := range req.Header.Values(name) {
				add(v)
			}
		}
	}
	return out
}
