package jsonw

import (
	"encoding/json"
	"math"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `q"uote`, `back\slash`, "nl\ncr\rtab\t", "ctl\x00\x01\x1f\x7f",
		"ünïcödé ✓", "bad\xffutf8\xc3", "line\u2028para\u2029sep", "<html>&amp;",
	} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		// encoding/json escapes <, > and & for HTML; we need not.
		if s == "<html>&amp;" {
			want = []byte(`"<html>&amp;"`)
		}
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil {
			t.Errorf("AppendString(%q) is not valid JSON: %v", s, err)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{
		0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 123456789, 1e20, 1e21, 1.5e300,
		-2.5e-10, math.MaxFloat64, math.SmallestNonzeroFloat64, 1700000000.123,
		// integral values, on both sides of the AppendInt fast path's bounds
		42, -42, 1e15 - 1, -(1e15 - 1), 1e15, -1e15, 1e15 + 2, 1 << 53, 1<<53 + 2, 1 << 60, -(1 << 60), 123456789012345678,
		0.5, -0.5, 1e15 - 0.5,
	} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendFloat(nil, f); string(got) != string(want) {
			t.Errorf("AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// TestAppendFloatIntegersMatchEncodingJSON covers the integer fast path
// densely: every integral value within a few steps of powers of two and
// ten, signs both ways.
func TestAppendFloatIntegersMatchEncodingJSON(t *testing.T) {
	for _, base := range []float64{1, 1e3, 1e6, 1e9, 1e12, 1e14, 1e15, 1e16, 1 << 30, 1 << 52, 1 << 53, 1 << 54} {
		for d := -3.0; d <= 3; d++ {
			for _, f := range []float64{base + d, -(base + d)} {
				want, err := json.Marshal(f)
				if err != nil {
					t.Fatal(err)
				}
				if got := AppendFloat(nil, f); string(got) != string(want) {
					t.Errorf("AppendFloat(%v) = %s, want %s", f, got, want)
				}
			}
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = AppendString(buf[:0], `http_requests_total{path="/api/v1/query"}`)
	}
}
