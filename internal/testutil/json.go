package testutil

import (
	"encoding/json"
	"testing"
)

// JSONRoundTrip checks that v marshals to exactly want and that want
// decodes back to v: the -o json shape of a value is part of the CLI's
// contract (docs/JSON.md).
func JSONRoundTrip[T comparable](t testing.TB, v T, want string) {
	t.Helper()
	got, err := json.Marshal(v)
	if err != nil || string(got) != want {
		t.Errorf("%+v: %v\n got %s\nwant %s", v, err, got, want)
		return
	}
	var back T
	if err := json.Unmarshal(got, &back); err != nil || back != v {
		t.Errorf("%s decodes to %+v (%v)", got, back, err)
	}
}
