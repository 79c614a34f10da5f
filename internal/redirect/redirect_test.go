package redirect

import (
	"errors"
	"net/http"
	"testing"
)

func TestPolicy(t *testing.T) {
	req := func(u string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Basic x")
		r.Header.Set("Cookie", "c=1")
		return r
	}
	first := req("https://reg.example:443/v2/x")
	for _, tc := range []struct {
		name     string
		to       string
		via      int
		want     error
		keepAuth bool
	}{
		{"same host:port keeps credentials", "https://reg.example:443/v2/y", 1, nil, true},
		{"other port drops them", "https://reg.example:8443/blob", 1, nil, false},
		{"other host drops them", "https://blobs.example/blob", 1, nil, false},
		{"https to http refused", "http://reg.example/blob", 1, ErrInsecure, false},
		{"chain bounded", "https://reg.example:443/v2/z", 3, ErrTooMany, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req(tc.to)
			via := make([]*http.Request, tc.via)
			for i := range via {
				via[i] = first
			}
			err := Policy(3)(r, via)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil {
				if got := r.Header.Get("Authorization") != "" && r.Header.Get("Cookie") != ""; got != tc.keepAuth {
					t.Errorf("credentials kept %v, want %v", got, tc.keepAuth)
				}
			}
		})
	}
}
