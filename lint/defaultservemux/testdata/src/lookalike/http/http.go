// Package http is not net/http: it only shares the name and the API shape.
package http

type Handler interface{ Serve() }

var DefaultServeMux Handler

type Server struct {
	Addr    string
	Handler Handler
}

func Handle(pattern string, h Handler)            {}
func HandleFunc(pattern string, f func())         {}
func ListenAndServe(addr string, h Handler) error { return nil }
func Serve(l any, h Handler) error                { return nil }
