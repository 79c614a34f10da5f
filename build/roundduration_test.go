package build

import (
	"testing"
	"time"
)

func TestRoundDuration(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{365*day - time.Second, "365 days"}, // a year's index, printed right after the build
		{365 * day, "365 days"},
		{2*day + 11*time.Hour, "2 days"},
		{2*day + 13*time.Hour, "3 days"},
		{-(3*day - time.Minute), "3 days"},
		{47 * time.Hour, "47h0m0s"},
		{1500 * time.Millisecond, "2s"},
	} {
		if got := RoundDuration(c.d); got != c.want {
			t.Errorf("RoundDuration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}
