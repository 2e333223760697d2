package scrape

import (
	"errors"
	"testing"
)

func TestCheckLimits(t *testing.T) {
	ls := Labels{{"a", "1"}, {"job", "jj"}}
	samples := []Sample{{Name: "x", Labels: SetOf(ls)}, {Name: "yy", Labels: SetOf(ls)}}
	for _, tc := range []struct {
		lim  Limits
		want string
	}{
		{Limits{}, ""},
		{Limits{MaxSamples: 2}, ""},
		{Limits{MaxSamples: 1}, "sample limit 1 exceeded"},
		{Limits{MaxLabels: 3}, ""},
		{Limits{MaxLabels: 2}, "label limit 2 exceeded"},
		{Limits{MaxLabelNameLen: 3}, ""},
		{Limits{MaxLabelNameLen: 2}, "label name length limit 2 exceeded"},
		{Limits{MaxLabelValueLen: 2}, ""},
		{Limits{MaxLabelValueLen: 1}, "label value length limit 1 exceeded"},
	} {
		err := CheckLimits(samples, tc.lim)
		var le *LimitError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.lim, err)
		case tc.want != "" && (!errors.As(err, &le) || err.Error() != tc.want):
			t.Errorf("%+v: %v, want %q", tc.lim, err, tc.want)
		}
	}
}
