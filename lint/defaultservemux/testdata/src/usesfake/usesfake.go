// Package usesfake uses a package named http that is not net/http: silent.
package usesfake

import "lookalike/http"

func all() *http.Server {
	http.Handle("/a", nil)
	http.HandleFunc("/b", func() {})
	_ = http.ListenAndServe(":8080", nil)
	_ = http.Serve(nil, nil)
	_ = http.DefaultServeMux
	return &http.Server{Addr: ":8080"}
}
