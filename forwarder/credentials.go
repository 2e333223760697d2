package forwarder

import (
	"fmt"

	"go.uber.org/zap"
)

// Credential files (bearer_token_file, token_file, api_key_file, ...) are
// treated alike for sources and sinks: a missing or unreadable one does not
// stop the service. It starts, logs the problem once, and /readyz lists the
// source or sink as not ready until the file can be read; data for a sink
// stays queued meanwhile, and a source's scrapes fail (promfwd_source_up 0).

// credentialProblems lists the credential files of the running config that
// cannot be read now, as /readyz reasons.
func (f *Forwarder) credentialProblemsLocked() []string {
	var out []string
	for _, cf := range f.cfg.CredentialFiles() {
		if err := cf.Check(); err != nil {
			out = append(out, fmt.Sprintf("%s unhealthy: %s: %v", cf.Owner, cf.Field, err))
		}
	}
	return out
}

// logCredentialProblemsLocked warns once per unreadable credential file,
// at start and after a reload.
func (f *Forwarder) logCredentialProblemsLocked() {
	for _, cf := range f.cfg.CredentialFiles() {
		if err := cf.Check(); err != nil {
			f.log.Warn("credential file unreadable: starting unhealthy until it can be read",
				zap.String("owner", cf.Owner), zap.String("field", cf.Field), zap.Error(err))
		}
	}
}
