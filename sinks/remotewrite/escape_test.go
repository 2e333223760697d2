package remotewrite

import "testing"

func TestEscape(t *testing.T) {
	cases := []struct {
		in, metric, label string
	}{
		{"http_requests_total", "http_requests_total", "http_requests_total"},
		{"CamelCase_9", "CamelCase_9", "CamelCase_9"},
		{"__name__", "__name__", "__name__"},
		{"ns:sub:metric", "ns:sub:metric", "ns_sub_metric"},
		{"my.metric-name", "my_metric_name", "my_metric_name"},
		{"1xx", "_1xx", "_1xx"},
		{"9.5", "_9_5", "_9_5"},
		{"µs", "_s", "_s"},           // one rune, two bytes: one underscore
		{"温度", "__", "__"},           // two runes
		{"a b\tc", "a_b_c", "a_b_c"}, // whitespace
		{"a\xffb", "a_b", "a_b"},     // invalid UTF-8: one underscore per bad byte
		{":x", ":x", "_x"},
		{"_", "_", "_"},
		{"", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := EscapeMetricName(tc.in); got != tc.metric {
				t.Errorf("EscapeMetricName(%q) = %q, want %q", tc.in, got, tc.metric)
			}
			if got := EscapeLabelName(tc.in); got != tc.label {
				t.Errorf("EscapeLabelName(%q) = %q, want %q", tc.in, got, tc.label)
			}
		})
	}
}

func TestEscapeValidNamesDoNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		_ = EscapeMetricName("process_cpu_seconds_total")
		_ = EscapeLabelName("instance")
	})
	if allocs != 0 {
		t.Errorf("escaping valid names allocates %v times", allocs)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"a.b", "1x", "µs", "a\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, l := EscapeMetricName(s), EscapeLabelName(s)
		if s == "" {
			if m != "" || l != "" {
				t.Fatalf("empty name escaped to %q / %q", m, l)
			}
			return
		}
		if !validName(m, true) || m == "" {
			t.Fatalf("EscapeMetricName(%q) = %q is not a legacy metric name", s, m)
		}
		if !validName(l, false) || l == "" {
			t.Fatalf("EscapeLabelName(%q) = %q is not a legacy label name", s, l)
		}
		if EscapeMetricName(m) != m || EscapeLabelName(l) != l {
			t.Fatalf("escaping %q is not idempotent", s)
		}
	})
}
