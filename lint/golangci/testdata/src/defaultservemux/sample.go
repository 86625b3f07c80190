// Package defaultservemux has a finding of the analyzer of the same name.
package defaultservemux

import "net/http"

func Serve() error {
	return http.ListenAndServe(":8080", nil) // want `http.ListenAndServe with a nil handler serves http.DefaultServeMux`
}
