//go:build race

package airgap

// raceEnabled: the race detector's shadow memory is in a process's RSS.
const raceEnabled = true
