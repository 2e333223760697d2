package hec

import "strconv"

// appendTime appends a millisecond timestamp as epoch seconds with exactly
// three fraction digits (HEC's `time`).
func appendTime(dst []byte, ms int64) []byte {
	u := uint64(ms)
	if ms < 0 {
		dst = append(dst, '-')
		u = uint64(-ms)
	}
	dst = strconv.AppendUint(dst, u/1000, 10)
	f := u % 1000
	return append(dst, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
}

// timeMemo remembers the last timestamp appendTime wrote: a batch's samples
// share a few scrape times, so nearly every event copies the digits
// instead of dividing them out again.
type timeMemo struct {
	ms  int64
	n   int // len of b in use; 0: empty
	buf [24]byte
}

// append is appendTime through the memo.
func (m *timeMemo) append(dst []byte, ms int64) []byte {
	return append(dst, m.buf[:m.size(ms)]...)
}

// size is the length of ms as appendTime writes it.
func (m *timeMemo) size(ms int64) int {
	if m.n == 0 || m.ms != ms {
		m.ms, m.n = ms, len(appendTime(m.buf[:0], ms))
	}
	return m.n
}
