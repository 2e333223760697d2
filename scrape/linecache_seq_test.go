package scrape

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// Random scrapes drawn from a pool of lines that spell some series in
// several ways, repeat series with older, equal and later timestamps,
// change family types and reorder, add and drop lines: one parser across
// the whole sequence must give what a fresh parser gives for each, samples
// and Dropped alike (duplicate detection across cached lines and new ones).
func TestLineCacheRandomSequences(t *testing.T) {
	pool := []string{
		"a{x=\"1\",y=\"2\"} 1", "a{y=\"2\",x=\"1\"} 2", "a{ x=\"1\" , y=\"2\" } 3", "{\"a\",x=\"1\",y=\"2\"} 4",
		"a{x=\"1\",y=\"2\"} 5 1000", "a{x=\"1\",y=\"2\"} 6 2000", "a{y=\"2\",x=\"1\"} 7 1500",
		"b 1", "b{} 2", "b{z=\"\"} 3", "b 4 3000", "b 5 3000",
		"h_bucket{le=\"1\"} 1", "h_bucket{le=\"1.0\"} 2", "h_bucket{le=\"+Inf\"} 3", "h_bucket 4", "h_sum 1", "h_count 3",
		"c{job=\"x\"} 1", "c{exported_job=\"x\"} 2", "c 3",
		"d{i=\"1\"} 1", "d{i=\"2\"} 2", "d{i=\"3\"} 3", "d{i=\"1\"} 4 500",
	}
	types := []string{"", "# TYPE h histogram", "# TYPE a gauge", "# TYPE h untyped", "# TYPE d counter"}
	rng := rand.New(rand.NewPCG(19, 3))
	opt := ParseOptions{NowMs: ptNow, TargetLabels: Labels{{Name: "job", Value: "j"}}}
	for seq := range 300 {
		warm := NewParser()
		base := rng.Perm(len(pool))[:1+rng.IntN(len(pool))]
		for scrape := range 6 {
			lines := make([]string, 0, len(base)+3)
			for _, i := range base {
				if rng.IntN(8) > 0 {
					lines = append(lines, pool[i])
				}
			}
			for range rng.IntN(3) {
				lines = append(lines, pool[rng.IntN(len(pool))])
			}
			if rng.IntN(3) == 0 {
				rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
			}
			if ty := types[rng.IntN(len(types))]; ty != "" {
				lines = append([]string{ty}, lines...)
			}
			body := []byte(strings.Join(lines, "\n") + "\n")
			got, gotErr := warm.Parse(FormatText, body, opt)
			fresh := NewParser()
			want, wantErr := fresh.Parse(FormatText, body, opt)
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("sequence %d scrape %d: warm error %v, fresh error %v\n%s", seq, scrape, gotErr, wantErr, body)
			}
			g, w := ptRenderAll(got), ptRenderAll(want)
			if strings.Join(g, "\n") != strings.Join(w, "\n") || warm.Dropped() != fresh.Dropped() {
				t.Fatalf("sequence %d scrape %d differs from a fresh parser:\n%s\nwarm (%+v):\n  %s\nfresh (%+v):\n  %s",
					seq, scrape, body, warm.Dropped(), strings.Join(g, "\n  "), fresh.Dropped(), strings.Join(w, "\n  "))
			}
		}
	}
}
