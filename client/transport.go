package client

import (
	"time"

	"github.com/packgen/packgen/internal/transport"
)

// Transport reads files of a site; see package internal/transport.
type Transport = transport.Transport

// Response is an opened site file.
type Response = transport.Response

// DefaultStallTimeout is how long a download may go without receiving a
// byte before it is abandoned.
const DefaultStallTimeout = transport.DefaultStallTimeout

// SetUserAgent sets the User-Agent sent with every HTTP request.
func SetUserAgent(ua string) { transport.UserAgent = ua }

// NewTransport picks a transport for a registry location: an http(s) URL,
// a file:// URL or a directory path.
func NewTransport(loc, token string, timeout time.Duration) (Transport, error) {
	return transport.New(loc, token, timeout, 0)
}
