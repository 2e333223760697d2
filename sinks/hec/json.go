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
