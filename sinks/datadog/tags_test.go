package datadog

import (
	"strings"
	"testing"

	"github.com/promfwd/promfwd/scrape"
	"github.com/promfwd/promfwd/sinks/datadog/ddtest"
)

func TestNormalizeTag(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, c := range []struct{ key, value, want string }{
		{"job", "docker", "job:docker"},
		{"Team", "Core-API", "team:core-api"},
		{"path", "/var/Lib x", "path:/var/lib_x"},
		{"quote", `a"b`, "quote:a_b"},
		{"uni", "Häß✓", "uni:häß_"},
		{"bad", "a\xffb", "bad:a_b"},
		{"url", "http://h:1", "url:http://h:1"},
		{"trailing", "x:", "trailing:x_"},
		{"k", long, "k:" + long[:198]},
		{"host", "h1", "label_host:h1"},
		{"Service", "s", "label_service:s"},
		{"env", "prod", "label_env:prod"},
		{"version", "1.2", "label_version:1.2"},
		{"source", "x", "label_source:x"},
		{"device", "sda", "label_device:sda"},
		{"_private", "p", "label__private:p"},
	} {
		got := string(normalizeTag(nil, tagKeyOf(c.key), c.value, false))
		if got != c.want {
			t.Errorf("tag(%q, %q) = %q, want %q", c.key, c.value, got, c.want)
		}
	}
	for in, want := range map[string]string{"env:Prod": "env:prod", "Team": "team", "service:web": "service:web"} {
		if got := normalizeStatic(in); got != want {
			t.Errorf("normalizeStatic(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTagRulesAndCollisions sends labels Datadog would rewrite to a
// receiver that rejects any tag not already in Datadog's normal form and
// any reserved key not set on purpose: everything arrives under the
// documented mapping, and a series the rules made identical to another is
// dropped, counted and logged once a minute with the series named.
func TestTagRulesAndCollisions(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.SendCountersAs = CountersAsGauge
		c.Tags = []string{"env:Prod"}
	}, options{}, func(o *ddtest.Options) { o.AllowReservedTags = []string{"env"} })
	now := h.clock.Now()
	long := strings.Repeat("v", 250)
	batch := []scrape.Sample{
		sample("up", scrape.KindGauge, nil, labels("host", "a", "service", "web", "version", "1"), 1, now),
		sample("up", scrape.KindGauge, nil, labels("Path", "/A B", "long", long), 2, now),
		sample("ops", scrape.KindGauge, nil, labels("team", "core"), 3, now),
		sample("ops", scrape.KindGauge, nil, labels("Team", "CORE"), 4, now), // same as the one above once lowercased
	}
	enc := h.push(batch)
	if enc.TagCollisions != 1 || enc.Dropped != 0 {
		t.Fatalf("TagCollisions = %d, Dropped = %d; want 1 and 0", enc.TagCollisions, enc.Dropped)
	}
	if got := h.findSeries("up", "env:prod", "label_host:a", "label_service:web", "label_version:1"); len(got) != 1 {
		t.Errorf("reserved labels not renamed: %+v", h.rcv.Series())
	}
	if got := h.findSeries("up", "path:/a_b", "long:"+long[:195]); len(got) != 1 {
		t.Errorf("tags not normalized: %+v", h.rcv.Series())
	}
	if got := h.values("ops"); len(got) != 1 || got[0] != 3 {
		t.Errorf("ops values %v, want the first series only", got)
	}
	logged := h.logs.FilterMessageSnippet("tag normalization").All()
	if len(logged) != 1 || logged[0].ContextMap()["metric"] != "ops" {
		t.Fatalf("collision log lines %v, want one naming ops", logged)
	}
	h.push(batch)
	if n := h.logs.FilterMessageSnippet("tag normalization").Len(); n != 1 {
		t.Errorf("%d collision log lines within a minute, want 1", n)
	}
}
