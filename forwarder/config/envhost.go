package config

// hostnameVar is the variable that falls back to the machine's host name.
const hostnameVar = "HOSTNAME"

// withHostname makes ${HOSTNAME} the machine's host name when the variable
// is not in the environment. Shells set HOSTNAME but do not export it, so
// services (systemd units, Docker plugins, containers without it) never
// see it, and a `${HOSTNAME:-default}` gave every machine the same
// identity. The host name is what the HEC and Datadog sinks' `host`
// defaults to as well. An exported HOSTNAME, even empty, wins.
func withHostname(lookup lookupFunc, hostname func() (string, error)) lookupFunc {
	return func(name string) (string, bool) {
		v, ok := lookup(name)
		if ok || name != hostnameVar {
			return v, ok
		}
		h, err := hostname()
		if err != nil || h == "" {
			return "", false
		}
		return h, true
	}
}
