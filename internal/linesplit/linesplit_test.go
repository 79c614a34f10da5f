package linesplit

import (
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
)

// TestSplit: lines cut across writes, several in one write, empty ones,
// non-ASCII ones, and an unfinished last line held back.
func TestSplit(t *testing.T) {
	for _, c := range []struct {
		name   string
		writes []string
		want   []string
	}{
		{"one", []string{"a\n"}, []string{"a"}},
		{"across writes", []string{"up", "loaded x", "\n"}, []string{"uploaded x"}},
		{"several", []string{"a\nb\nc"}, []string{"a", "b"}},
		{"empty lines", []string{"\n\n"}, []string{"", ""}},
		{"non-ASCII", []string{"warning: café ", "naïve\n"}, []string{"warning: café naïve"}},
		{"none", []string{"no newline"}, nil},
	} {
		var s Splitter
		var got []string
		for _, w := range c.writes {
			s.Split([]byte(w), func(l string) { got = append(got, l) })
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestSplitConcurrent: whole lines written at once from many
// goroutines all come out whole (run under -race).
func TestSplitConcurrent(t *testing.T) {
	var s Splitter
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	var want []string
	for i := 0; i < 50; i++ {
		want = append(want, fmt.Sprintf("line %02d", i))
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s.Split([]byte(fmt.Sprintf("line %02d\n", i)), func(l string) {
				mu.Lock()
				got = append(got, l)
				mu.Unlock()
			})
		}(i)
	}
	wg.Wait()
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}
