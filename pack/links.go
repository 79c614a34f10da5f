package pack

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/packgen/packgen/pack/meta"
)

// linkTree is the virtual tree of a pack's (or chart's) symlinks, used to
// check each link against all the others. linkEscapes alone reads a
// target lexically, as if every component were a directory, so two links
// that each stay inside can chain out: "d/l -> ../" then
// "escape -> d/l/../../etc/passwd" (issue 14 item 2). The rule is the
// simplest one that is safe whatever the order or the number of links: no
// link points to another link, no link's target passes through a link and
// no entry lies below a link. Real packs link to files and directories,
// never through links.
//
// Paths are compared case-folded: on a case-insensitive file system (macOS,
// Windows) "L/.." goes through the link "l". They are compared in one
// Unicode normalisation too: macOS also takes "l\u00e9" and "le\u0301"
// (é composed and decomposed) for one name.
type linkTree map[string]string // folded clean path -> path as written

func foldPath(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] >= utf8.RuneSelf {
			return norm.NFC.String(strings.ToLower(norm.NFC.String(p)))
		}
	}
	return strings.ToLower(p)
}

func (lt linkTree) add(rel string) { lt[foldPath(rel)] = rel }

func (lt linkTree) link(rel string) (string, bool) {
	l, ok := lt[foldPath(rel)]
	return l, ok
}

// under returns the link a path lies below, if any.
func (lt linkTree) under(rel string) (string, bool) {
	if len(lt) == 0 {
		return "", false
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' {
			if l, ok := lt.link(rel[:i]); ok {
				return l, true
			}
		}
	}
	return "", false
}

// resolve follows target from the directory dir ("" for the root) one
// component at a time, the way the kernel does, and explains why it is
// unsafe: it climbs above the root, passes through a link or ends on one.
// It returns "" for a target that stays inside and touches no link.
func (lt linkTree) resolve(dir, target string) string {
	var cur []string
	if dir != "" && dir != "." {
		cur = strings.Split(dir, "/")
	}
	parts := strings.Split(target, "/")
	last := -1
	for i, c := range parts {
		if c != "" && c != "." {
			last = i
		}
	}
	for i, c := range parts {
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return "points outside the pack"
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cur = append(cur, c)
		l, ok := lt.link(strings.Join(cur, "/"))
		switch {
		case !ok:
		case i == last:
			return fmt.Sprintf("points to another symlink (%q): links to links are refused, point at the file itself", l)
		default:
			return fmt.Sprintf("resolves through the symlink %q: a link's target must not pass through another link", l)
		}
	}
	return ""
}

// checkLinks checks the links of a listing against each other: every
// symlink's target and every entry's path, through the links of the whole
// listing, whatever their order. It calls report for each entry refused.
func checkLinks(files []File, report func(rel, msg string)) {
	lt := linkTree{}
	for _, f := range files {
		if f.IsSymlink() {
			lt.add(f.Path)
		}
	}
	if len(lt) == 0 {
		return
	}
	for _, f := range files {
		if l, ok := lt.under(f.Path); ok {
			report(f.Path, fmt.Sprintf("lies below the symlink %q: nothing can be stored through a link", l))
			continue
		}
		if !f.IsSymlink() {
			if l, ok := lt.link(f.Path); ok && l != f.Path {
				report(f.Path, fmt.Sprintf("differs from the symlink %q only in case: the two collide on macOS and Windows", l))
			}
			continue
		}
		if msg := linkEscapes(f.Path, f.Link); msg != "" {
			report(f.Path, "symlink to "+quote(f.Link)+" "+msg)
		} else if msg := lt.resolve(parentDir(f.Path), f.Link); msg != "" {
			report(f.Path, "symlink to "+quote(f.Link)+" "+msg)
		}
	}
}

func parentDir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// checkLinkChains reports links that are unsafe together (see linkTree).
func (v *validator) checkLinkChains() {
	checkLinks(v.pack.Files, func(rel, msg string) {
		v.add(rel, meta.SevError, 0, 0, "%s", msg)
	})
}

// unsafeLinks returns the first entry of files checkLinks refuses, as an
// ErrUnsafePath error, or nil.
func unsafeLinks(files []File) error {
	var err error
	checkLinks(files, func(rel, msg string) {
		if err == nil {
			err = fmt.Errorf("%w: %q: %s", ErrUnsafePath, rel, msg)
		}
	})
	return err
}

// chartLinks checks a chart archive's links (entries as listed, symlinks
// with their targets; hard links as name and target) in their virtual
// tree, as extracting the chart with tar would follow them.
func chartLinks(entries []File, hard [][2]string) error {
	var err error
	checkLinks(entries, func(rel, msg string) {
		if err == nil {
			err = fmt.Errorf("chart archive entry %q: %s", rel, msg)
		}
	})
	if err != nil || len(hard) == 0 {
		return err
	}
	lt := linkTree{}
	for _, f := range entries {
		if f.IsSymlink() {
			lt.add(f.Path)
		}
	}
	for _, h := range hard {
		if msg := lt.resolve("", h[1]); msg != "" {
			return fmt.Errorf("chart archive entry %q: hard link to %q %s", h[0], h[1], msg)
		}
	}
	return nil
}
