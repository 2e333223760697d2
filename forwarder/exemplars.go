package forwarder

import "github.com/promfwd/promfwd/sinks"

// wantsExemplars reports whether any of a source's sinks sends exemplars
// (remote_write with send_exemplars: true). Only then does the source's
// parser keep the exemplars it scrapes; otherwise they cost nothing.
func wantsExemplars(routes []*sinkState) bool {
	for _, st := range routes {
		if es, ok := st.sink.(sinks.ExemplarSender); ok && es.SendsExemplars() {
			return true
		}
	}
	return false
}
