package hec

// AcksOutstanding is the number of requests HEC accepted whose indexer
// acknowledgement has not been confirmed yet; ok is false when the sink
// does not use acknowledgement. The status pages show it.
func (s *Sink) AcksOutstanding() (n int, ok bool) {
	if s.acks == nil {
		return 0, false
	}
	s.acks.mu.Lock()
	defer s.acks.mu.Unlock()
	return len(s.acks.posted), true
}
