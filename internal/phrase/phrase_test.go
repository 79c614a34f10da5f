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

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		noun string
		want string
	}{
		{0, "problem", "0 problems"},
		{1, "problem", "1 problem"},
		{1, "image", "1 image"},
		{2, "image", "2 images"},
		{1, "log entry", "1 log entry"},
		{5, "log entry", "5 log entries"},
		{2, "key", "2 keys"},
	} {
		if got := Count(tc.n, tc.noun); got != tc.want {
			t.Errorf("Count(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
}
