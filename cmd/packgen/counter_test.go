package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// The build's workers report progress at once: counterLine serialises
// the writes itself (a bytes.Buffer written unserialised fails -race).
func TestCounterLineConcurrent(t *testing.T) {
	var out bytes.Buffer
	bar := &counterLine{w: &out}
	update := buildProgress(bar)
	var wg sync.WaitGroup
	for i := 1; i <= 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			update(i, 8)
		}()
	}
	wg.Wait()
	bar.println("warning: w")
	bar.end()
	s := out.String()
	if n := strings.Count(s, eraseLine); n != 10 || !strings.Contains(s, "8/8 releases: writing the index") || !strings.HasSuffix(s, "warning: w\n"+eraseLine) {
		t.Errorf("%d erasures in %q", n, s)
	}
}
