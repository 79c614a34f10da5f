package oneproc

import "testing"

func TestCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"packgen"}, ""},
		{[]string{"packgen", "fetch", "calico"}, "fetch"},
		{[]string{"packgen", "-q", "fetch", "calico"}, "fetch"},
		{[]string{"packgen", "--quiet", "--config", "fetch", "build"}, "build"},
		{[]string{"packgen", "--config=r.yaml", "fetch"}, "fetch"},
		{[]string{"packgen", "build", "fetch"}, "build"},
		{[]string{"packgen", "--help"}, ""},
		{[]string{"packgen", "--", "fetch"}, "--"},
	} {
		if got := Command(tc.args); got != tc.want {
			t.Errorf("Command(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
