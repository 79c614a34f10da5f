//go:build !race

package airgap

const raceEnabled = false
