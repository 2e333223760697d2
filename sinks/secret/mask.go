package secret

import (
	"slices"
	"strings"
)

// Masked is what a masked secret reads as.
const Masked = "<secret>"

// Mask replaces every non-empty value of secrets in text (a receiver's
// free text, which may echo a request's credentials) with <secret>.
// Longer values are masked first, so a secret that contains another (a
// base64 user:password pair and the password, a token and its prefix)
// leaves no part of itself behind.
func Mask(text string, secrets ...string) string {
	if len(secrets) > 1 {
		secrets = slices.Clone(secrets)
		slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	}
	for _, v := range secrets {
		if v != "" {
			text = strings.ReplaceAll(text, v, Masked)
		}
	}
	return text
}
