// Package trace stands in for golang.org/x/net/trace in tests.
package trace
