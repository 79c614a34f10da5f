package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packgen/packgen/internal/testutil"
)

// publish obeys --stall-timeout and --timeout as the commands that
// download do: a destination (or a source registry) that accepts a
// connection and never answers is given up on within the limit, exit 3,
// the error naming the limit and the hint the flag that raises it. It
// once waited for the AWS SDK's and oras-go's own limits (none, or
// minutes).
func TestPublishTimeouts(t *testing.T) {
	b := newBinRunner(t)
	b.Timeout = 2 * time.Minute
	repo := helloRepo(t, filepath.Join(b.Dir, "repo"))
	site := filepath.Join(b.Dir, "site")
	b.want(0, nil, "build", "--repo", repo.Dir, "--out", site, "--no-site", "--refresh")
	b.want(0, nil, "key", "generate", "--prefix", filepath.Join(b.Dir, "reg"))
	silent := testutil.SilentAddr(t)
	b.Env = append(b.Env, "AWS_ACCESS_KEY_ID=k", "AWS_SECRET_ACCESS_KEY=s", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	stalled := []string{"nothing received for 1s", "raise --stall-timeout (now 1s)"}
	timedOut := []string{"did not finish within the time limit of 1s", "raise --timeout (now 1s)"}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"publish", site, "oci://" + silent + "/x", "--plain-http", "--stall-timeout", "1s"}, append([]string{silent}, stalled...)},
		{[]string{"publish", site, "s3://bucket/x", "--endpoint", "http://" + silent, "--stall-timeout", "1s"}, append([]string{"s3://bucket/x"}, stalled...)},
		{[]string{"publish", site, "oci://" + silent + "/x", "--plain-http", "--timeout", "1s"}, timedOut},
		{[]string{"publish", site, "s3://bucket/x", "--endpoint", "http://" + silent, "--timeout", "1s"}, timedOut},
		// A source registry that never answers (promotion).
		{[]string{"publish", "http://" + silent, "oci://127.0.0.1:1/x", "--plain-http", "--source-key", filepath.Join(b.Dir, "reg.pub"), "--stall-timeout", "1s"}, append([]string{silent}, stalled...)},
	} {
		start := time.Now()
		b.want(3, c.want, c.args...)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("packgen %s: gave up after %v", strings.Join(c.args, " "), d)
		}
	}
	// A directory takes no stall timeout (nothing to stall): refused,
	// as every option of another kind of destination is.
	b.want(2, []string{"--stall-timeout is for"}, "publish", site, filepath.Join(b.Dir, "www"), "--stall-timeout", "1s")
}
