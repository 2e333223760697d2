package relabel

import (
	"testing"
	"unsafe"
)

// TestStageCacheFootprint pins what the cache keeps per series: one entry
// of 104 bytes, in a backing array sized to the first scrape instead of
// grown by append (which leaves up to half of it as slack for as long as
// the series live).
func TestStageCacheFootprint(t *testing.T) {
	if got := unsafe.Sizeof(entry{}); got > 104 {
		t.Errorf("entry is %d bytes, want <= 104", got)
	}
	var rules []*Config
	if err := unmarshalRules(benchRulesYAML, &rules); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 1000, 20000} {
		st := NewStage(rules)
		st.Relabel(benchBatch(n))
		if len(st.ents) != n || cap(st.ents) != n {
			t.Errorf("%d series: %d entries in a backing array of %d, want %d in %d", n, len(st.ents), cap(st.ents), n, n)
		}
	}
}
