package remotewrite

import (
	"encoding/base64"
	"os"
	"strings"

	"github.com/promfwd/promfwd/sinks"
	"github.com/promfwd/promfwd/sinks/secret"
)

// redactor masks the sink's credentials in a receiver's free text (a 4xx
// body may echo the request's Authorization or custom headers), as HEC and
// Datadog mask their token and API key. Secrets kept in files are read when
// a rejection is rendered, so a rotated value is masked too.
type redactor struct {
	static []string // bearer token, password, header values, and their encodings
	user   string   // basic_auth.username, to rebuild the encoded pair from a file password
	files  []string // bearer_token_file, basic_auth.password_file
}

func newRedactor(cfg Config) *redactor {
	r := &redactor{}
	add := func(v string) {
		if v != "" {
			r.static = append(r.static, v)
		}
	}
	for _, v := range sinks.URLSecrets(cfg.URL) {
		add(v) // a receiver may echo the request line
	}
	add(string(cfg.BearerToken))
	for _, v := range cfg.Headers {
		add(string(v))
	}
	if b := cfg.BasicAuth; b != nil {
		r.user = b.Username
		add(string(b.Password))
		if b.Password != "" {
			add(basicPair(b.Username, string(b.Password)))
		}
		if b.PasswordFile != "" {
			r.files = append(r.files, b.PasswordFile)
		}
	}
	if cfg.BearerTokenFile != "" {
		r.files = append(r.files, cfg.BearerTokenFile)
	}
	return r
}

func basicPair(user, pw string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pw))
}

// redact replaces every known secret in text with <secret>.
func (r *redactor) redact(text string) string {
	vals := r.static
	for _, p := range r.files {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			vals = append(vals[:len(vals):len(vals)], v, basicPair(r.user, v))
		}
	}
	return secret.Mask(text, vals...)
}
