package scrape

import (
	"testing"
)

// TestParseHonorLabels checks honor_labels in every format path: the
// exposed label wins and the target label is not added; without it the
// exposed one moves to exported_<name>. The line cache must not serve one
// mode's result to the other.
func TestParseHonorLabels(t *testing.T) {
	target := Labels{{"instance", "h:1"}, {"job", "j"}}
	body := "# TYPE m gauge\nm{job=\"exposed\",a=\"1\"} 1\nm{a=\"2\"} 2\n"
	p := NewParser()
	for _, tc := range []struct {
		honor bool
		want  []string
	}{
		{true, []string{`{a="1",instance="h:1",job="exposed"}`, `{a="2",instance="h:1",job="j"}`}},
		{false, []string{`{a="1",exported_job="exposed",instance="h:1",job="j"}`, `{a="2",instance="h:1",job="j"}`}},
		{true, []string{`{a="1",instance="h:1",job="exposed"}`, `{a="2",instance="h:1",job="j"}`}},
	} {
		got, err := p.Parse(FormatText, []byte(body), ParseOptions{NowMs: ptNow, TargetLabels: target, HonorLabels: tc.honor})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range tc.want {
			if got[i].Labels.String() != w || got[i].Hash != SeriesHash("m", got[i].Labels.Labels()) {
				t.Errorf("honor=%v sample %d: %s, want %s", tc.honor, i, got[i].Labels, w)
			}
		}
	}
}

func TestParseIgnoreTimestamps(t *testing.T) {
	body := "m 1 1000\nn 2\n"
	for _, ignore := range []bool{false, true} {
		got, err := NewParser().Parse(FormatText, []byte(body), ParseOptions{NowMs: ptNow, IgnoreTimestamps: ignore})
		if err != nil {
			t.Fatal(err)
		}
		wantTS, wantExplicit := int64(1000), true
		if ignore {
			wantTS, wantExplicit = ptNow, false
		}
		if got[0].TimestampMs != wantTS || got[0].ExplicitTS != wantExplicit || got[1].TimestampMs != ptNow {
			t.Errorf("ignore=%v: %+v", ignore, got)
		}
	}
}
