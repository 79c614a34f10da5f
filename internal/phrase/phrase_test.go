package phrase

import "testing"

func TestFew(t *testing.T) {
	for _, tc := range []struct {
		items []string
		most  int
		want  string
	}{
		{nil, 3, ""},
		{[]string{"a"}, 3, "a"},
		{[]string{"a", "b", "c"}, 3, "a, b, c"},
		{[]string{"a", "b", "c", "d", "e"}, 3, "a, b, c and 2 more"},
		{[]string{"a", "b"}, 0, "2 more"},
	} {
		if got := Few(tc.items, tc.most); got != tc.want {
			t.Errorf("Few(%q, %d) = %q, want %q", tc.items, tc.most, got, tc.want)
		}
	}
}
