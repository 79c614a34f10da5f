package siteassets

import (
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	if got, want := Names(), []string{"app.js", "catalog.js", "icon.svg", "style.css"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v (a new asset is fine: add it here; a dropped one goes to retired)", got, want)
	}
	for _, n := range retired {
		if slices.Contains(Names(), n) {
			t.Errorf("%s is both written and retired", n)
		}
	}
	for name, want := range map[string]bool{"app.js": true, "catalog.js": true, "brand.css": false, "": false, "x/app.js": false} {
		if got := Owned(name); got != want {
			t.Errorf("Owned(%q) = %v, want %v", name, got, want)
		}
	}
}
