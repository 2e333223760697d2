package remotewrite

import "github.com/promfwd/promfwd/sinks/internal/idmemo"

// Slots of the encoder's memos (powers of two). Expositions have few
// distinct label names, so a table holds them all. Metric names are many
// (thousands across targets) but arrive in runs, a family's series one
// after another, so a few slots catch nearly every sample without a big
// table to thrash (a miss costs the check plus a pointer store).
const (
	labelMemoSize  = 1024
	metricMemoSize = 64
)

// nameMemo remembers the escaped form of recently seen names by the
// identity of the string's bytes (idmemo): a hit is one pointer comparison
// instead of a byte-by-byte charset check of every label name of every
// sample (about 5% of promfwd's CPU at 200k series per scrape, perf of
// promfwd-bench).
type nameMemo struct {
	colonOK bool
	memo    idmemo.Memo[string]
}

func newNameMemo(size int, colonOK bool) nameMemo {
	return nameMemo{colonOK: colonOK, memo: idmemo.New[string](size)}
}

// escape returns escape(s, m.colonOK), remembering it.
func (m *nameMemo) escape(s string) string {
	if esc, ok := m.memo.Get(s); ok {
		return esc
	}
	if s == "" {
		return s
	}
	esc := escape(s, m.colonOK)
	m.memo.Put(s, esc)
	return esc
}
