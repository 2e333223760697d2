//go:build !linux

package main

// releaseStartupPages does nothing outside Linux (startpages.go).
func releaseStartupPages() (int64, error) { return 0, nil }
