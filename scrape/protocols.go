package scrape

import (
	"fmt"
	"strconv"
	"strings"
)

// Scrape protocols, by Prometheus' scrape_protocols names.
const (
	ProtocolPrometheusProto      = "PrometheusProto"
	ProtocolPrometheusText0_0_4  = "PrometheusText0.0.4"
	ProtocolPrometheusText1_0_0  = "PrometheusText1.0.0"
	ProtocolOpenMetricsText0_0_1 = "OpenMetricsText0.0.1"
	ProtocolOpenMetricsText1_0_0 = "OpenMetricsText1.0.0"
)

// protocolMediaTypes are the media types offered for each protocol, as
// Prometheus offers them; the 1.0.0 text formats say that UTF-8 names may
// come unescaped (quoted), which every parser here reads.
var protocolMediaTypes = map[string]string{
	ProtocolPrometheusProto:      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
	ProtocolPrometheusText0_0_4:  "text/plain;version=0.0.4",
	ProtocolPrometheusText1_0_0:  "text/plain;version=1.0.0;escaping=allow-utf-8",
	ProtocolOpenMetricsText0_0_1: "application/openmetrics-text;version=0.0.1",
	ProtocolOpenMetricsText1_0_0: "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8",
}

// DefaultScrapeProtocols is Prometheus 3's default preference (native
// histograms off): text formats first, so a target that offers protobuf
// still answers in the format whose histograms carry their classic
// buckets. A copy is returned.
func DefaultScrapeProtocols() []string {
	return []string{ProtocolOpenMetricsText1_0_0, ProtocolOpenMetricsText0_0_1, ProtocolPrometheusText1_0_0, ProtocolPrometheusText0_0_4}
}

// acceptWeight is the q-value (tenths) of the first offered protocol:
// Prometheus counts every protocol it knows (six, OpenMetrics 2.0 included)
// plus one, so the header matches Prometheus' byte for byte.
const acceptWeight = 7

// AcceptHeader is the Accept value a scrape sends by default.
var AcceptHeader = mustAcceptHeader(DefaultScrapeProtocols())

func mustAcceptHeader(ps []string) string {
	h, err := AcceptHeaderFor(ps)
	if err != nil {
		panic(err) // constant input
	}
	return h
}

// ValidateScrapeProtocols checks a scrape_protocols list as Prometheus
// does: not empty, no repeats (ignoring case), known names only. Prometheus'
// OpenMetricsText2.0.0 is refused: promfwd does not parse it.
func ValidateScrapeProtocols(ps []string) error {
	if len(ps) == 0 {
		return fmt.Errorf("scrape_protocols cannot be empty")
	}
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		if seen[strings.ToLower(p)] {
			return fmt.Errorf("scrape_protocols: %q listed twice", p)
		}
		seen[strings.ToLower(p)] = true
		if _, ok := protocolMediaTypes[p]; !ok {
			if p == "OpenMetricsText2.0.0" {
				return fmt.Errorf("scrape_protocols: %s is not supported; use %s", p, ProtocolOpenMetricsText1_0_0)
			}
			return fmt.Errorf("scrape_protocols: unknown protocol %q, supported: %s", p, strings.Join(knownProtocols(), ", "))
		}
	}
	return nil
}

func knownProtocols() []string {
	return []string{ProtocolOpenMetricsText0_0_1, ProtocolOpenMetricsText1_0_0, ProtocolPrometheusProto, ProtocolPrometheusText0_0_4, ProtocolPrometheusText1_0_0}
}

// AcceptHeaderFor builds the Accept header for protocols in order of
// preference, with q-values laid out as Prometheus lays them out, and */*
// last.
func AcceptHeaderFor(ps []string) (string, error) {
	if err := ValidateScrapeProtocols(ps); err != nil {
		return "", err
	}
	var b strings.Builder
	w := acceptWeight
	for _, p := range ps {
		b.WriteString(protocolMediaTypes[p])
		b.WriteString(";q=0.")
		b.WriteString(strconv.Itoa(w))
		b.WriteByte(',')
		w--
	}
	b.WriteString("*/*;q=0.")
	b.WriteString(strconv.Itoa(w))
	return b.String(), nil
}
