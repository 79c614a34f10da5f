package main

import (
	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/internal/chartrender"
)

// Charts render in the test process (Helm linked into the test binary
// only); packgen-helm itself, as a process, is what images' helper tests
// and the tests that run the packgen binary exercise.
func init() { images.SetRenderer(chartrender.InProcess{}) }
