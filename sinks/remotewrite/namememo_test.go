package remotewrite

import (
	"strings"
	"testing"
)

func TestNameMemoMatchesEscape(t *testing.T) {
	long := strings.Repeat("x", 40) + ".y"
	tests := []struct {
		name string
		in   string
	}{
		{"valid", "http_requests_total"},
		{"dot", "my.metric-name"},
		{"leading digit", "1xx"},
		{"colon", "rule:rate5m"},
		{"utf8", "µs"},
		{"invalid utf8", "a\xffb"},
		{"prefix of an escaped name shares its bytes", long[:40]},
		{"the escaped name itself", long},
		{"empty", ""},
	}
	for _, size := range []int{1, labelMemoSize} {
		for _, colonOK := range []bool{true, false} {
			m := newNameMemo(size, colonOK)
			// Twice, in both orders: hits must return what misses did, and
			// a string sharing another's bytes (a prefix) is a different name.
			for round := range 4 {
				for i := range tests {
					tc := tests[i]
					if round%2 == 1 {
						tc = tests[len(tests)-1-i]
					}
					if got, want := m.escape(tc.in), escape(tc.in, colonOK); got != want {
						t.Fatalf("size %d colonOK %v round %d %s: escape(%q) = %q, want %q", size, colonOK, round, tc.name, tc.in, got, want)
					}
				}
			}
		}
	}
}

func TestNameGE(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"a", "b"}, {"b", "a"}, {"ab", "aa"}, {"a", "a"}, {"", "a"}, {"a", ""}, {"", ""},
		{"__name__", "le"}, {"Z", "__name__"}, {"__a", "__name__"}, {"aa", "a"},
	} {
		if got, want := nameGE(tc.a, tc.b), tc.a >= tc.b; got != want {
			t.Errorf("nameGE(%q, %q) = %v, want %v", tc.a, tc.b, got, want)
		}
	}
}
