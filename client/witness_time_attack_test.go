package client

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/testutil"
	"github.com/packgen/packgen/internal/transport"
	"github.com/packgen/packgen/translog"
)

// TestAttackWitnessTimeOverflow: a witness (its key, or its clock,
// broken or hostile) cosigns with a cosignature/v1 timestamp no clock
// gives: at or past 2⁶³ seconds (read as a negative time: before 1970,
// so without --witness-max-age it would count as merely old), near
// 2⁶³ (time.Unix's own overflow), or past year 9999. None counts: it
// is a bad cosignature (a problem in verify --site whatever the
// quorum), and the report still encodes as JSON (encoding/json refuses
// a time outside years 0–9999: one hostile witness would otherwise
// break verify --site -o json and log audit -o json for every reader).
func TestAttackWitnessTimeOverflow(t *testing.T) {
	_, site, root, msg, skey, vkey := witnessSite(t, "w1")
	tr, err := transport.New(site, "", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	// testutil.CosignAt signs uint64(at.Unix()): a negative Unix time is
	// a timestamp of 2⁶⁴+it.
	for _, tc := range []struct {
		name   string
		at     time.Time
		maxAge string
	}{
		{"2^64-1", time.Unix(-1, 0), ""},
		{"2^63", time.Unix(math.MinInt64, 0), ""},
		{"2^63 with a max age", time.Unix(math.MinInt64, 0), "168h"},
		{"2^63-1", time.Unix(math.MaxInt64, 0), ""},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{"year 1969", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			co := testutil.CosignAt(t, msg, root.Log.Key, skey, tc.at)
			if err := os.WriteFile(filepath.Join(site, translog.WitnessPath("w1")), co, 0o644); err != nil {
				t.Fatal(err)
			}
			rep, problems, err := VerifyWitnesses(context.Background(), tr, root, &Registry{Name: "test", Witnesses: []string{vkey}, WitnessQuorum: 1, WitnessMaxAge: tc.maxAge}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Valid != 0 || len(rep.Witnesses) != 1 || !rep.Witnesses[0].Bad || !strings.Contains(rep.Witnesses[0].Problem, "w1 cosigned at") {
				t.Errorf("counted or not marked bad: %+v", rep.Witnesses)
			}
			found := false
			for _, p := range problems {
				found = found || p.Path == translog.WitnessPath("w1")
			}
			if !found {
				t.Errorf("verify --site does not report it: %v", problems)
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Errorf("the report does not encode: %v", err)
			}
		})
	}
}
