package meta

import "testing"

// TestReleaseID: one key per release, however its version is written;
// the build, the history walk, the retirement file and the PR check all
// key releases with it.
func TestReleaseID(t *testing.T) {
	for _, tc := range []struct{ name, version, want string }{
		{"calico", "3.27.0", "calico@3.27.0"},
		{"calico", "3.27", "calico@3.27.0"},
		{"calico", "v3.27", "calico@3.27.0"},
		{"calico", "1.0.0-rc.1", "calico@1.0.0-rc.1"},
		{"calico", "not a version", "calico@not a version"},
	} {
		if got := ReleaseID(tc.name, tc.version); got != tc.want {
			t.Errorf("ReleaseID(%q, %q) = %q, want %q", tc.name, tc.version, got, tc.want)
		}
	}
}
