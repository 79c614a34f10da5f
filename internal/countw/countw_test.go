package countw

import (
	"bytes"
	"errors"
	"testing"
)

// short takes at most max bytes, then fails: N counts what it took.
type short struct{ max int }

func (s *short) Write(p []byte) (int, error) {
	if len(p) > s.max {
		n := s.max
		s.max = 0
		return n, errors.New("short write")
	}
	s.max -= len(p)
	return len(p), nil
}

func TestWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		max    int
		want   int64
		err    bool
	}{
		{"none", nil, 10, 0, false},
		{"several", []string{"ab", "", "cde"}, 10, 5, false},
		{"short", []string{"abc", "defg"}, 5, 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Writer{W: &short{max: tc.max}}
			var err error
			for _, w := range tc.writes {
				if _, e := c.Write([]byte(w)); e != nil {
					err = e
				}
			}
			if c.N != tc.want || (err != nil) != tc.err {
				t.Fatalf("N=%d err=%v, want %d (error %v)", c.N, err, tc.want, tc.err)
			}
		})
	}
	var b bytes.Buffer
	c := &Writer{W: &b}
	c.Write([]byte("hello"))
	if c.N != 5 || b.String() != "hello" {
		t.Fatalf("N=%d %q", c.N, b.String())
	}
}
