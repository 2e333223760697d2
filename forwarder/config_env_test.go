package forwarder

import "github.com/promfwd/promfwd/forwarder/config"

// lookupFunc resolves ${VAR} references in a config under test.
type lookupFunc = func(string) (string, bool)

// load and loadWith load a config under test with its environment injected
// (config.LoadWith), never the process's.
func load(name string, data []byte, lookup lookupFunc) (*config.Config, error) {
	return config.LoadWith(name, data, lookup, nil)
}

func loadWith(name string, data []byte, lookup lookupFunc, hostname func() (string, error)) (*config.Config, error) {
	return config.LoadWith(name, data, lookup, hostname)
}

// testEnv is the environment the forwarder's tests load configs with: extra
// and nothing else.
func testEnv(extra map[string]string) lookupFunc {
	return func(k string) (string, bool) {
		v, ok := extra[k]
		return v, ok
	}
}
