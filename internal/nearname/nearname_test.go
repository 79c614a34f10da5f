package nearname

import (
	"strings"
	"testing"
)

func TestNear(t *testing.T) {
	names := []string{"calico", "cilium", "falco", "prometheus-operator", "csi-aws-ebs"}
	for _, c := range []struct {
		in   string
		want string
	}{
		{"calcio", "calico"}, {"calico", ""}, {"prometheus-opertor", "prometheus-operator"},
		{"cillium", "cilium"}, {"falc", "falco"}, {"xyz", ""}, {"csi", ""},
		{"monitorng", ""}, // not one of these names
	} {
		if got := strings.Join(Near(c.in, names), ","); got != c.want {
			t.Errorf("Near(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
