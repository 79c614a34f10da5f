// Package siteassets holds the catalogue's static files (a site's
// assets/) and knows every name the catalogue writes there: package site
// writes them, and internal/sitedir owns them for publish's prune, which
// must delete the catalogue's files and no one else's (a web root that
// serves the registry may keep its own assets/brand.css). site imports
// sitedir, so the names live here, where both read them, written once.
// Standard library only.
package siteassets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"slices"
)

// FS is the catalogue's static files, at its top (app.js, style.css…):
// written under Dir as they are.
//
//go:embed *.js *.css *.svg
var FS embed.FS

// Dir is where a site holds them.
const Dir = "assets"

// CatalogJS is the one file under Dir the catalogue writes from data
// rather than from FS (the catalogue's data for app.js).
const CatalogJS = "catalog.js"

// retired are the names under Dir an earlier packgen wrote and this one
// no longer does: sites it published still hold them, and prune must be
// able to delete them, so a name leaves FS (or stops being written) only
// to be added here. A list rather than a name pattern: the catalogue's
// names are what anyone's assets are called (style.css, app.js), so no
// pattern tells ours from a user's, and renaming ours to make one would
// change the URLs of every page already published. None has been retired.
var retired = []string{}

// Names lists the files the catalogue writes under Dir now, sorted.
func Names() []string {
	names := []string{CatalogJS}
	ents, _ := fs.ReadDir(FS, ".") // embedded: cannot fail
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// Owned reports whether name (a file directly under Dir) is one the
// catalogue writes or once wrote.
func Owned(name string) bool {
	return slices.Contains(Names(), name) || slices.Contains(retired, name)
}

// Digest returns the hex SHA-256 of the embedded file name (a file
// directly under Dir written from FS), and whether there is one: publish
// refuses a site whose copy differs, as app.js runs on every page
// (script-src 'self') and nothing else checks it.
func Digest(name string) (string, bool) {
	b, err := fs.ReadFile(FS, name)
	if err != nil || name == CatalogJS {
		return "", false
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), true
}
