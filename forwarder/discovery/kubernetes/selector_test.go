package kubernetes

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// TestSelectorsAsAPIMachinery: our selector checks accept what
// k8s.io/apimachinery accepts and reject what it rejects; syntax errors
// carry its exact message (Prometheus reports them as they are).
func TestSelectorsAsAPIMachinery(t *testing.T) {
	for _, s := range []string{
		"", "app", "!app", "app=web", "app==web", "app!=web", "app=", "a.b/c-d=e_f.g", "app in (a, b)", "app notin (a,b)",
		"app in ()", "app in (,a)", "app in (a,)", "x>1", "x<2", "app, tier=db", " app = web , !x ",
		"app in (x", "app in x", "app in (a b)", "app =", "=web", "app==", "app=web,", ",app", "app web", "app,,x",
		"app in (a,,b)", "app!web", "app=(x)", "in in (in)", "notin=notin", "x>a", "x<", "a b c", "app=web)", "(",
		"Bad_Key!", "-bad=x", "ok=-bad", "example.com/", "/name=x", "a/b/c=d", "UPPER.example.com/x=y", "x=" + strings.Repeat("v", 70),
	} {
		_, want := labels.Parse(s)
		got := checkLabelSelector(s)
		if (want == nil) != (got == nil) {
			t.Errorf("label selector %q: apimachinery says %v, we say %v", s, want, got)
			continue
		}
		if want != nil && want.Error() != got.Error() && !keyOrValueError(s) {
			t.Errorf("label selector %q: message %q, want %q", s, got, want)
		}
	}
	for _, s := range []string{
		"", "a=b", "a==b", "a!=b", "a=b,c!=d", "a", "a=b,c", `a=b\,c`, `a=b\=c`, `a=b\\`, `a=b\`, `a=b\x`, "a=b=c",
		",", "a=b,,c=d", "metadata.name!=x,spec.nodeName=n1", "=x", "a!b",
	} {
		_, want := fields.ParseSelector(s)
		got := checkFieldSelector(s)
		if (want == nil) != (got == nil) || (want != nil && want.Error() != got.Error()) {
			t.Errorf("field selector %q: apimachinery says %v, we say %v", s, want, got)
		}
	}
}

// keyOrValueError: selectors whose only fault is a key or value's
// characters, where our message words the rule our own way.
func keyOrValueError(s string) bool {
	switch s {
	case "Bad_Key!", "-bad=x", "ok=-bad", "example.com/", "/name=x", "a/b/c=d", "UPPER.example.com/x=y", "x=" + strings.Repeat("v", 70), "x>a":
		return true
	}
	return false
}
