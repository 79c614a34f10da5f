package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRedirects checks the redirect policy of the HTTP transport over real
// loopback TLS: https may not be downgraded to http, and a bearer token
// follows a redirect within the registry's host:port but never to another.
func TestRedirects(t *testing.T) {
	var leaked string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = r.Header.Get("Authorization")
		io.WriteString(w, "other")
	}))
	defer other.Close()
	otherTLS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = r.Header.Get("Authorization")
		io.WriteString(w, "other")
	}))
	defer otherTLS.Close()
	reg := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-http/index.json":
			http.Redirect(w, r, other.URL+"/index.json", http.StatusFound)
		case "/moved/index.json":
			http.Redirect(w, r, "/final/index.json", http.StatusMovedPermanently)
		case "/final/index.json":
			leaked = r.Header.Get("Authorization")
			io.WriteString(w, "final")
		case "/to-other-host/index.json":
			http.Redirect(w, r, otherTLS.URL+"/index.json", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer reg.Close()
	// Both TLS test servers use the same test certificate.
	open := func(t *testing.T, base string) Transport {
		tr, err := New(base, "s3cret", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		tr.(*httpTransport).client.Transport = reg.Client().Transport
		return tr
	}

	_, err := open(t, reg.URL+"/to-http").Get(context.Background(), "index.json", "")
	if !errors.Is(err, ErrInsecureRedirect) {
		t.Errorf("https → http: %v, want ErrInsecureRedirect", err)
	}
	if leaked != "" {
		t.Errorf("the http server was reached with %q", leaked)
	}

	// Within the registry's own host:port the token is kept.
	res, err := open(t, reg.URL+"/moved").Get(context.Background(), "index.json", "")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if leaked != "Bearer s3cret" {
		t.Errorf("token lost on a same-host redirect: %q", leaked)
	}

	leaked = "unset"
	res, err = open(t, reg.URL+"/to-other-host").Get(context.Background(), "index.json", "")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "other" {
		t.Fatalf("redirect not followed: %q", body)
	}
	if leaked != "" {
		t.Errorf("bearer token sent to another host after a redirect: %q", leaked)
	}
}
