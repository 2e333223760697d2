package scrape

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLimits(t *testing.T) {
	body := "# TYPE x gauge\nx{a=\"1\",b=\"22\"} 1\nx{a=\"2\",b=\"22\"} 2\nx{a=\"3\",b=\"22\"} 3\n"
	target := Labels{{Name: "job", Value: "j"}}
	cases := []struct {
		name    string
		limits  Limits
		wantErr string
	}{
		{"samples at limit", Limits{MaxSamples: 3}, ""},
		{"samples over", Limits{MaxSamples: 2}, "sample limit 2 exceeded"},
		{"labels at limit counting name and target", Limits{MaxLabels: 4}, ""},
		{"labels over", Limits{MaxLabels: 3}, "label limit 3 exceeded"},
		{"label name length at", Limits{MaxLabelNameLen: 3}, ""},
		{"label name length over", Limits{MaxLabelNameLen: 2}, "label name length limit 2 exceeded"},
		{"label value length at", Limits{MaxLabelValueLen: 2}, ""}, // values "1", "22", "j" and the name "x"
		{"label value length over", Limits{MaxLabelValueLen: 1}, "label value length limit 1 exceeded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			samples, err := NewParser().Parse(FormatText, []byte(body), ParseOptions{NowMs: ptNow, TargetLabels: target, Limits: c.limits})
			if c.wantErr == "" {
				if err != nil || len(samples) != 3 {
					t.Fatalf("got %d samples, err %v", len(samples), err)
				}
				return
			}
			var le *LimitError
			if !errors.As(err, &le) || err.Error() != c.wantErr || samples != nil {
				t.Fatalf("err = %v (%T), samples %d; want %q", err, err, len(samples), c.wantErr)
			}
		})
	}
	t.Run("metric name counts as value", func(t *testing.T) {
		_, err := NewParser().Parse(FormatText, []byte("long_name 1\n"), ParseOptions{Limits: Limits{MaxLabelValueLen: 4}})
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != "label value length" || le.Max != 4 {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestParseTargetLabels(t *testing.T) {
	cases := []struct {
		name   string
		target Labels
		in     string
		want   string
	}{
		{"added and sorted", Labels{{"instance", "h:1"}, {"job", "j"}}, `m{a="1",z="2"} 1`, `m{a="1",instance="h:1",job="j",z="2"}`},
		{"conflict renamed", Labels{{"job", "j"}}, `m{job="exposed"} 1`, `m{exported_job="exposed",job="j"}`},
		{"conflict twice", Labels{{"job", "j"}}, `m{exported_job="e1",job="e2"} 1`, `m{exported_exported_job="e2",exported_job="e1",job="j"}`},
		{"renamed clashes with target", Labels{{"exported_job", "t1"}, {"job", "t2"}}, `m{job="e"} 1`, `m{exported_exported_job="e",exported_job="t1",job="t2"}`},
		{"empty target value pushes aside only", Labels{{"job", ""}}, `m{job="e"} 1`, `m{exported_job="e"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ptParse(t, FormatText, c.in+"\n", ParseOptions{TargetLabels: c.target})
			if len(got) != 1 || !strings.HasPrefix(got[0], c.want+" ") {
				t.Fatalf("got %q, want labels %s", got, c.want)
			}
		})
	}
}
