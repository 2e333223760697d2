package main

import (
	"strings"
	"testing"
)

// TestAggRulesFewHasNoNearUniqueOutputs: the few set differs from the mixed
// one only in the rule that kept every label but instance and series.
func TestAggRulesFewHasNoNearUniqueOutputs(t *testing.T) {
	if strings.Contains(aggRulesFew, "without:") {
		t.Fatalf("aggRulesFew keeps a without rule:\n%s", aggRulesFew)
	}
	if got, want := strings.Count(aggRulesFew, "by: [l2]"), strings.Count(aggRules, "by: [l2]")+1; got != want {
		t.Fatalf("by: [l2] rules: got %d, want %d", got, want)
	}
	if strings.Count(aggRulesFew, "- {match:") != strings.Count(aggRules, "- {match:") {
		t.Fatal("rule count differs")
	}
}
