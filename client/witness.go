package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/translog"
	"golang.org/x/mod/sumdb/note"
)

// ErrNotWitnessed: the registry's log checkpoint that holds a release is
// not cosigned by as many of the configured witnesses as required.
var ErrNotWitnessed = errors.New("not enough witness cosignatures")

// ErrWitnessConfig: the registry's witness keys or quorum cannot be
// used (a key that does not parse, one witness given twice, a quorum
// above the keys given).
var ErrWitnessConfig = errors.New("bad witness configuration")

// witnessVerifiers parses the registry's witness keys, checking the
// quorum against them.
func (r *Registry) witnessVerifiers() ([]note.Verifier, error) {
	var vs []note.Verifier
	keys := map[string]string{} // key material → witness name
	for _, k := range r.Witnesses {
		v, err := translog.NewWitnessVerifier(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w: %w", r.Name, ErrWitnessConfig, err)
		}
		// A cosignature/v1 does not sign the witness's name: the same key
		// under two names would let one witness's cosignature, relabelled,
		// count twice.
		if other, ok := keys[witnessKeyMaterial(k)]; ok {
			return nil, fmt.Errorf("registry %s: %w: witness keys %s and %s are the same key under two names: one witness would be counted twice; give each witness once", r.Name, ErrWitnessConfig, other, v.Name())
		}
		keys[witnessKeyMaterial(k)] = v.Name()
		for _, o := range vs {
			if o.Name() == v.Name() {
				return nil, fmt.Errorf("registry %s: %w: two witness keys named %s: each witness publishes one cosigned checkpoint, at log/witness/%s", r.Name, ErrWitnessConfig, v.Name(), v.Name())
			}
		}
		vs = append(vs, v)
	}
	if r.WitnessQuorum < 0 || r.WitnessQuorum > len(vs) {
		return nil, fmt.Errorf("registry %s: %w: %d witness cosignatures required but %d witness keys given: give at least as many --witness keys", r.Name, ErrWitnessConfig, r.WitnessQuorum, len(vs))
	}
	return vs, nil
}

// witnessKeyMaterial is the public key of a witness key line
// NAME+HASH+BASE64 (one that NewWitnessVerifier accepted): its key bytes
// without the algorithm byte.
func witnessKeyMaterial(vkey string) string {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	if len(parts) != 3 {
		return vkey
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < 2 {
		return parts[2]
	}
	return string(raw[1:])
}

// WitnessNames returns the names of the registry's witness keys (those
// that parse).
func (r *Registry) WitnessNames() []string {
	var out []string
	for _, k := range r.Witnesses {
		if v, err := translog.NewWitnessVerifier(strings.TrimSpace(k)); err == nil {
			out = append(out, v.Name())
		}
	}
	return out
}

// witnessOnce computes the witnesses' verdict once for a Client and its
// forks (the root they share is the same).
type witnessOnce struct {
	once sync.Once
	w    *witnessed
}

// witnessed is what the registry's witnesses vouch for: the size of the
// log a quorum of them cosigned (a release at a smaller index is in a
// checkpoint they all saw), found once per Client.
type witnessed struct {
	size    int64
	signed  []string // witnesses counted
	missing []string // "name: why" of the others
	err     error
}

// checkWitnesses reads each configured witness's cosigned checkpoint from
// the registry (log/witness/NAME), verifies the log's signature and the
// witness's cosignature on it, and proves each cosigned tree is one the
// verified root's log extends. A cosigned tree the root's log does not
// extend is a split view (the registry showed the witness another
// history) and is refused outright. The quorum-th largest cosigned size
// is what a release's index must be below.
func (c *Client) checkWitnesses(ctx context.Context, root *index.Root) *witnessed {
	if c.wit == nil {
		c.wit = &witnessOnce{}
	}
	c.wit.once.Do(func() { c.wit.w = c.readWitnesses(ctx, root) })
	return c.wit.w
}

func (c *Client) readWitnesses(ctx context.Context, root *index.Root) *witnessed {
	w := &witnessed{}
	vs, err := c.reg.witnessVerifiers()
	if err != nil {
		w.err = err
		return w
	}
	tree, ok, err := translog.TreeOf(root)
	if err != nil || !ok {
		w.err = fmt.Errorf("registry %s: %w: index.json names no transparency log, yet %d witness cosignatures are required", c.reg.Name, ErrNotWitnessed, c.reg.WitnessQuorum)
		if err != nil {
			w.err = err
		}
		return w
	}
	// Every witness's file is requested at once: one round trip.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	files := make([]<-chan Fetched, len(vs))
	for i, v := range vs {
		files[i] = c.getAsync(ctx, translog.WitnessPath(v.Name()), translog.MaxCheckpointSize)
	}
	defer func() {
		cancel()
		for _, ch := range files {
			for range ch {
			}
		}
	}()
	var sizes []int64
	for i, v := range vs {
		miss := func(why string) { w.missing = append(w.missing, v.Name()+": "+why) }
		f := <-files[i]
		msg, err := f.Data, f.Err
		if err != nil {
			miss(fmt.Sprintf("no cosigned checkpoint at %s (%v)", translog.WitnessPath(v.Name()), err))
			continue
		}
		cp, names, err := translog.OpenCosigned(msg, root.Log.Key, []note.Verifier{v})
		switch {
		case err != nil:
			miss(err.Error())
			continue
		case cp.Origin != translog.LogOrigin(root.Registry):
			// One key may sign several registries: a checkpoint of another
			// one's log, its signature line relabelled, opens under this
			// log key too.
			miss(fmt.Sprintf("it cosigned a checkpoint of the log %q, not of this registry's log %q", cp.Origin, translog.LogOrigin(root.Registry)))
			continue
		case len(names) == 0:
			miss(fmt.Sprintf("%s holds no cosignature by this witness's key", translog.WitnessPath(v.Name())))
			continue
		case cp.Tree.N > tree.N:
			miss(fmt.Sprintf("it cosigned a log of %d entries, index.json names %d (a stale index.json in a cache? try again later)", cp.Tree.N, tree.N))
			continue
		}
		if err := c.withTiles(func(wk *Walker) error {
			return translog.CheckConsistency(ctx, cp.Tree, tree, wk.Get)
		}); errors.Is(err, ErrLogInconsistent) {
			w.err = fmt.Errorf("registry %s: witness %s cosigned a log of %d entries (%s) that the log of index.json (%d entries, %s) does not extend: %w. The registry shows different histories to different readers (a split view); nothing was used. Report it to the registry's owner and the witness", c.reg.Name, v.Name(), cp.Tree.N, cp.Tree.Hash, tree.N, tree.Hash, err)
			return w
		} else if err != nil {
			w.err = fmt.Errorf("registry %s: proving the log consistent with witness %s's checkpoint: %w", c.reg.Name, v.Name(), err)
			return w
		}
		sizes = append(sizes, cp.Tree.N)
		w.signed = append(w.signed, v.Name())
	}
	if len(sizes) < c.reg.WitnessQuorum {
		w.err = fmt.Errorf("registry %s: %w: %d required, %d valid (%s); missing: %s. Ask the registry's owner to publish the witnesses' cosignatures at log/witness/NAME (packgen log witness), check that the witnesses run, or lower --witnesses in packgen registry add", c.reg.Name, ErrNotWitnessed, c.reg.WitnessQuorum, len(sizes), signedBy(w.signed), strings.Join(w.missing, "; "))
		return w
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] > sizes[j] })
	if c.reg.WitnessQuorum > 0 {
		w.size = sizes[c.reg.WitnessQuorum-1]
	}
	return w
}

func signedBy(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return "signed by " + strings.Join(s, ", ")
}

// witnessedRelease refuses a release the required witnesses have not
// seen in the log yet.
func (c *Client) witnessedRelease(ctx context.Context, root *index.Root, name string, rel *index.Release) error {
	if c.reg.WitnessQuorum == 0 {
		return nil
	}
	w := c.checkWitnesses(ctx, root)
	if w.err != nil {
		return w.err
	}
	if rel.Log == nil || rel.Log.Index >= w.size {
		at := "no log entry"
		if rel.Log != nil {
			at = fmt.Sprintf("log entry %d", rel.Log.Index)
		}
		return fmt.Errorf("registry %s: %w: %s@%s is %s, and %d of the witnesses (%s) have cosigned only the first %d entries: it is newer than what they saw. Wait for the witnesses' next run (and the registry to publish their cosignatures), or use an older version", c.reg.Name, ErrNotWitnessed, name, rel.Version, at, c.reg.WitnessQuorum, strings.Join(slices.Clone(w.signed), ", "), w.size)
	}
	return nil
}
