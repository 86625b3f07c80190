package discovery

import (
	"errors"
	"net"
	"strconv"
)

// splitHostPort splits host:port and checks that the port is a number in
// range.
func splitHostPort(addr string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	if h == "" {
		return "", 0, errors.New("the host is empty")
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 || n > 65535 {
		return "", 0, errors.New("the port is not a number in 1-65535")
	}
	return h, n, nil
}
