package sdtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// ConsulInstance is one instance of a service in the Consul catalog.
type ConsulInstance struct {
	ID      string
	Node    string
	Address string // the service address (host); the node's is 127.0.0.1
	Port    int
	Tags    []string
	Meta    map[string]string
}

// Consul is a Consul agent for discovery tests: it serves
// /v1/agent/self, /v1/catalog/services and /v1/health/service/<name>
// with blocking queries (?index=N waits until the catalog's index passes N,
// or ?wait= passes), as Consul does.
type Consul struct {
	srv *httptest.Server

	mu       sync.Mutex
	index    uint64
	services map[string][]ConsulInstance
	changed  chan struct{} // closed and replaced on every change
	failing  bool
	requests int
}

// NewConsul starts an agent with an empty catalog.
func NewConsul(t testing.TB) *Consul {
	t.Helper()
	c := &Consul{index: 1, services: map[string][]ConsulInstance{}, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent/self", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 1, map[string]any{"Config": map[string]any{"Datacenter": "dc1", "NodeName": "agent"}})
	})
	mux.HandleFunc("GET /v1/catalog/services", func(w http.ResponseWriter, r *http.Request) {
		idx, ok := c.block(w, r)
		if !ok {
			return
		}
		c.mu.Lock()
		out := map[string][]string{}
		for name, insts := range c.services {
			tags := []string{}
			for _, in := range insts {
				tags = append(tags, in.Tags...)
			}
			out[name] = tags
		}
		c.mu.Unlock()
		writeJSON(w, idx, out)
	})
	mux.HandleFunc("GET /v1/health/service/{name}", func(w http.ResponseWriter, r *http.Request) {
		idx, ok := c.block(w, r)
		if !ok {
			return
		}
		c.mu.Lock()
		insts := c.services[r.PathValue("name")]
		out := make([]map[string]any, 0, len(insts))
		for _, in := range insts {
			out = append(out, map[string]any{
				"Node": map[string]any{"Node": in.Node, "Address": "127.0.0.1", "Datacenter": "dc1",
					"TaggedAddresses": map[string]string{"lan": "127.0.0.1"}, "Meta": map[string]string{"rack": "r1"}},
				"Service": map[string]any{"ID": in.ID, "Service": r.PathValue("name"), "Tags": in.Tags,
					"Address": in.Address, "Port": in.Port, "Meta": in.Meta},
				"Checks": []map[string]any{{"Node": in.Node, "CheckID": "serfHealth", "Status": "passing"}},
			})
		}
		c.mu.Unlock()
		writeJSON(w, idx, out)
	})
	c.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		c.srv.CloseClientConnections() // blocking queries in flight
		c.srv.Close()
	})
	return c
}

// Addr is the agent's host:port (consul_sd_configs' server).
func (c *Consul) Addr() string { return c.srv.Listener.Addr().String() }

// Set replaces a service's instances (none: the service is deregistered)
// and advances the index, waking blocking queries.
func (c *Consul) Set(service string, insts ...ConsulInstance) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(insts) == 0 {
		delete(c.services, service)
	} else {
		c.services[service] = insts
	}
	c.index++
	close(c.changed)
	c.changed = make(chan struct{})
}

// Fail makes catalog and health requests answer 500 until Fail(false);
// blocked queries are woken to get the error.
func (c *Consul) Fail(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failing = on
	close(c.changed)
	c.changed = make(chan struct{})
}

// Requests is how many catalog and health requests were answered.
func (c *Consul) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// block waits, for a request with ?index=N, until the index passes N or
// ?wait= (default 5m, as Consul) passes; it returns the index to answer
// with, false if it answered already (failing) or the client went away.
func (c *Consul) block(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	want, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait := 5 * time.Minute
	if w := r.URL.Query().Get("wait"); w != "" {
		if d, err := time.ParseDuration(w); err == nil {
			wait = d
		}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		c.mu.Lock()
		idx, ch := c.index, c.changed
		if c.failing {
			c.requests++
			c.mu.Unlock()
			http.Error(w, "rpc error: No cluster leader", http.StatusInternalServerError)
			return 0, false
		}
		if idx > want || want == 0 {
			c.requests++
			c.mu.Unlock()
			return idx, true
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			c.mu.Lock()
			c.requests++
			c.mu.Unlock()
			return idx, true
		case <-r.Context().Done():
			return 0, false
		}
	}
}

func writeJSON(w http.ResponseWriter, index uint64, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Consul-Index", strconv.FormatUint(index, 10))
	w.Header().Set("X-Consul-Knownleader", "true")
	w.Header().Set("X-Consul-Lastcontact", "0")
	_ = json.NewEncoder(w).Encode(v)
}
