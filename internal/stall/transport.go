package stall

import (
	"io"
	"net/http"
	"time"
)

// UploadAnswer is the least wait for the answer to an upload sent whole
// (the server's work on it: a large blob verified and stored on object
// storage), whatever the stall timeout.
const UploadAnswer = 60 * time.Second

// Transport fails an attempt when no byte moves for D: from the start (a
// server that accepts and never answers), while an upload's body is read
// out, and then in the answer's body, the watch re-armed by every byte
// either way. The one stall rule of every client of outside servers that
// is an http.Client (the OCI registry client, publish's S3 client).
type Transport struct {
	Base http.RoundTripper
	D    time.Duration
}

func (s *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	w := New(req.Context(), s.D)
	w.Arm()
	r := req.WithContext(w.Context())
	if req.Body != nil && req.Body != http.NoBody {
		r.Body = &armOnRead{rc: req.Body, w: w, d: s.D}
	}
	resp, err := s.Base.RoundTrip(r)
	if err != nil {
		w.Stop()
		return nil, err
	}
	resp.Body = w.Body(resp.Body, nil)
	return resp, nil
}

// armOnRead re-arms a stall watch whenever the transport takes a piece
// of an upload's body.
type armOnRead struct {
	rc io.ReadCloser
	w  *Watch
	d  time.Duration // the stall timeout
}

func (a *armOnRead) Read(p []byte) (int, error) {
	n, err := a.rc.Read(p)
	switch {
	case err == io.EOF:
		// Sent whole: the server may verify and store it before it
		// answers, as long as the header wait this client always
		// allowed.
		a.w.ArmFor(max(a.d, UploadAnswer))
	case n > 0:
		a.w.Arm()
	}
	return n, err
}

func (a *armOnRead) Close() error { return a.rc.Close() }
