package aggregate

import (
	"testing"

	"github.com/promfwd/promfwd/scrape"
)

func TestParseSelector(t *testing.T) {
	ls := func(kv ...string) scrape.Labels {
		var out scrape.Labels
		for i := 0; i < len(kv); i += 2 {
			out = append(out, scrape.Label{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		sel    string
		name   string
		labels scrape.Labels
		want   bool
	}{
		{`{__name__=~"scalr_.*"}`, "scalr_runs_total", nil, true},
		{`{__name__=~"scalr_.*"}`, "my_scalr_runs", nil, false}, // anchored
		{`{__name__=~"scalr_.*", env!="dev"}`, "scalr_x", ls("env", "dev"), false},
		{`{__name__=~"scalr_.*", env!="dev"}`, "scalr_x", ls("env", "prod"), true},
		{`{__name__=~"scalr_.*", env!="dev"}`, "scalr_x", nil, true}, // missing label is ""
		{`up`, "up", nil, true},
		{`up`, "upx", nil, false},
		{`http_requests_total{code=~"5..", method="GET"}`, "http_requests_total", ls("code", "503", "method", "GET"), true},
		{`http_requests_total{code=~"5..", method="GET"}`, "http_requests_total", ls("code", "200", "method", "GET"), false},
		{`x{a!~"b|c"}`, "x", ls("a", "b"), false},
		{`x{a!~"b|c"}`, "x", ls("a", "d"), true},
		{` x { a = 'q"x' , } `, "x", ls("a", `q"x`), true},
		{"x{a=`\\d`}", "x", ls("a", `\d`), true},
		{`x{a="\"y\""}`, "x", ls("a", `"y"`), true},
	}
	for _, tt := range tests {
		s, err := ParseSelector(tt.sel)
		if err != nil {
			t.Fatalf("ParseSelector(%s): %v", tt.sel, err)
		}
		if got := s.MatchName(tt.name) && s.MatchLabels(scrape.SetOf(tt.labels)); got != tt.want {
			t.Errorf("%s matches %s%s = %v, want %v", tt.sel, tt.name, tt.labels, got, tt.want)
		}
	}
}

func TestParseSelectorErrors(t *testing.T) {
	for _, sel := range []string{``, `{}`, `{a=""}`, `{a=~".*"}`, `x{a="b"`, `x{a~"b"}`, `x{a="b" c="d"}`, `x{a=b}`, `x{a=~"("}`, `x y`, `{a="b}`} {
		if _, err := ParseSelector(sel); err == nil {
			t.Errorf("ParseSelector(%q) = nil error, want one", sel)
		}
	}
}
