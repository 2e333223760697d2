// Package sdtest has local discovery servers for tests: a DNS server (UDP
// on 127.0.0.1) whose answers the test sets, and a Consul agent speaking
// the catalog and health APIs with blocking queries. Tests of packages
// forwarder and discovery share them.
package sdtest
