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
	"time"

	"github.com/packgen/packgen/index"
	"github.com/packgen/packgen/translog"
	"github.com/packgen/packgen/walk"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
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

// witnessMaxAge is the registry's WitnessMaxAge (0: no limit).
func (r *Registry) witnessMaxAge() (time.Duration, error) {
	if r.WitnessMaxAge == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(r.WitnessMaxAge)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("registry %s: %w: witness max age %q: want a positive duration such as 168h", r.Name, ErrWitnessConfig, r.WitnessMaxAge)
	}
	return d, nil
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

// WitnessStatus is one configured witness's cosigned checkpoint as a
// reader checked it.
type WitnessStatus struct {
	Name string `json:"name"`
	// Size and Hash are the tree the witness cosigned, Time when (by the
	// witness's clock); unset when its file was unreadable.
	Size int64      `json:"size,omitempty"`
	Hash string     `json:"hash,omitempty"`
	Time *time.Time `json:"time,omitempty"`
	// Valid: the cosignature counts towards the quorum.
	Valid bool `json:"valid"`
	// Problem says why it does not count; Bad marks one that is wrong
	// rather than absent or late (a forged or foreign cosignature, a
	// time in the future): verify --site reports it even when the quorum
	// is met.
	Problem string `json:"problem,omitempty"`
	Bad     bool   `json:"bad,omitempty"`
}

// checkCosigned checks one witness's cosigned checkpoint msg (err: it
// could not be read) against the verified root's log tree: the log's
// signature under the root's log key, the witness's cosignature and its
// time, the origin, and, through consistent, that the root's log extends
// the cosigned tree. A split view (a cosigned tree the root's log does
// not extend) or a proof that could not be made is the error; anything
// else that keeps the cosignature from counting is in the status.
func checkCosigned(ctx context.Context, v note.Verifier, msg []byte, ferr error, root *index.Root, tree tlog.Tree, now time.Time, maxAge time.Duration, consistent func(tlog.Tree) error) (WitnessStatus, error) {
	st := WitnessStatus{Name: v.Name()}
	miss := func(bad bool, why string) (WitnessStatus, error) {
		st.Problem, st.Bad = why, bad
		return st, nil
	}
	if ferr != nil {
		return miss(false, fmt.Sprintf("no cosigned checkpoint at %s (%v)", translog.WitnessPath(v.Name()), ferr))
	}
	cp, cos, err := translog.OpenCosignatures(msg, root.Log.Key, []note.Verifier{v})
	if err != nil {
		return miss(true, err.Error())
	}
	st.Size, st.Hash = cp.Tree.N, cp.Tree.Hash.String()
	if len(cos) > 0 {
		// A time JSON cannot hold (past year 9999, or an overflowed
		// one) is left out: the problem names it, and a witness must
		// not be able to break the -o json report.
		if t := cos[0].Time; validJSONTime(t) {
			st.Time = &t
		}
	}
	switch {
	case cp.Origin != translog.LogOrigin(root.Registry):
		// One key may sign several registries: a checkpoint of another
		// one's log, its signature line relabelled, opens under this
		// log key too.
		return miss(true, fmt.Sprintf("it cosigned a checkpoint of the log %q, not of this registry's log %q", cp.Origin, translog.LogOrigin(root.Registry)))
	case len(cos) == 0:
		return miss(true, fmt.Sprintf("%s holds no cosignature by this witness's key", translog.WitnessPath(v.Name())))
	}
	if err := translog.CheckCosignatureTime(cos[0], now, maxAge); err != nil {
		// A time ahead (or before 1970: an overflow) is wrong; one too
		// old is only late.
		return miss(cos[0].Time.After(now) || cos[0].Time.Before(time.Unix(0, 0)), err.Error())
	}
	if cp.Tree.N > tree.N {
		return miss(false, fmt.Sprintf("it cosigned a log of %d entries, index.json names %d (a stale index.json in a cache? try again later)", cp.Tree.N, tree.N))
	}
	if err := consistent(cp.Tree); errors.Is(err, ErrLogInconsistent) {
		st.Problem, st.Bad = fmt.Sprintf("it cosigned a log of %d entries (%s) that the log of index.json (%d entries, %s) does not extend: a split view", cp.Tree.N, cp.Tree.Hash, tree.N, tree.Hash), true
		return st, fmt.Errorf("witness %s cosigned a log of %d entries (%s) that the log of index.json (%d entries, %s) does not extend: %w. The registry shows different histories to different readers (a split view); nothing was used. Report it to the registry's owner and the witness", v.Name(), cp.Tree.N, cp.Tree.Hash, tree.N, tree.Hash, err)
	} else if err != nil {
		st.Problem = fmt.Sprintf("proving the log consistent with its checkpoint: %v", err)
		return st, fmt.Errorf("proving the log consistent with witness %s's checkpoint: %w", v.Name(), err)
	}
	st.Valid = true
	return st, nil
}

// validJSONTime reports whether encoding/json can encode t.
func validJSONTime(t time.Time) bool {
	_, err := t.MarshalJSON()
	return err == nil
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
	maxAge, err := c.reg.witnessMaxAge()
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
	consistent := func(old tlog.Tree) error {
		return c.withTiles(func(wk *Walker) error { return wk.LogReader(root).CheckConsistency(ctx, old, tree) })
	}
	var sizes []int64
	for i, v := range vs {
		f := <-files[i]
		st, err := checkCosigned(ctx, v, f.Data, f.Err, root, tree, c.opts.Now(), maxAge, consistent)
		if err != nil {
			w.err = fmt.Errorf("registry %s: %w", c.reg.Name, err)
			return w
		}
		if !st.Valid {
			w.missing = append(w.missing, v.Name()+": "+st.Problem)
			continue
		}
		sizes = append(sizes, st.Size)
		w.signed = append(w.signed, v.Name())
	}
	if len(sizes) < c.reg.WitnessQuorum {
		w.err = fmt.Errorf("registry %s: %w: %d required, %d valid (%s); missing: %s. Ask the registry's owner to publish the witnesses' cosignatures at log/witness/NAME (packgen log witness), check that the witnesses run, or lower --witnesses in packgen registry add", c.reg.Name, ErrNotWitnessed, c.reg.WitnessQuorum, len(sizes), signedBy(w.signed), strings.Join(w.missing, "; "))
		return w
	}
	w.size = quorumSize(sizes, c.reg.WitnessQuorum)
	return w
}

// quorumSize is the quorum-th largest of sizes: every entry below it is
// in a checkpoint quorum witnesses cosigned.
func quorumSize(sizes []int64, quorum int) int64 {
	if quorum <= 0 || len(sizes) < quorum {
		return 0
	}
	s := slices.Clone(sizes)
	sort.Slice(s, func(i, j int) bool { return s[i] > s[j] })
	return s[quorum-1]
}

// WitnessReport is what verify --site and log audit say of a registry's
// witnesses: each configured witness's cosignature and the quorum.
type WitnessReport struct {
	Required int    `json:"required"`
	Valid    int    `json:"valid"`
	MaxAge   string `json:"maxAge,omitempty"`
	// Size is the log size the quorum cosigned: every entry below it is
	// in a checkpoint Required witnesses saw (0: quorum not met).
	Size      int64           `json:"size"`
	Witnesses []WitnessStatus `json:"witnesses"`
}

// VerifyWitnesses checks every witness of reg (its keys, quorum and
// maximum age: a configured registry, or one made of flags) against the
// verified root of the site tr reads, for verify --site and log audit:
// each cosignature is verified and proved consistent with the root's log,
// and the quorum is reported. Problems are a bad cosignature (forged,
// foreign, dated ahead, a split view, a proof that could not be read)
// and a quorum not met; the error is a configuration that cannot be
// used.
func VerifyWitnesses(ctx context.Context, tr Transport, root *index.Root, reg *Registry, now time.Time) (*WitnessReport, []SiteProblem, error) {
	vs, err := reg.witnessVerifiers()
	if err != nil {
		return nil, nil, err
	}
	maxAge, err := reg.witnessMaxAge()
	if err != nil {
		return nil, nil, err
	}
	rep := &WitnessReport{Required: reg.WitnessQuorum, Witnesses: []WitnessStatus{}}
	if maxAge > 0 {
		rep.MaxAge = maxAge.String()
	}
	if len(vs) == 0 {
		return rep, nil, nil
	}
	tree, ok, err := translog.TreeOf(root)
	if err != nil || !ok {
		why := "index.json names no transparency log: nothing for the witnesses to cosign"
		if err != nil {
			why = err.Error()
		}
		return rep, []SiteProblem{{Path: translog.WitnessDir, Err: why}}, nil
	}
	get := walk.Getter(func(ctx context.Context, p string) (*Response, error) { return tr.Get(ctx, p, "") })
	consistent := func(old tlog.Tree) error { return translog.CheckConsistency(ctx, old, tree, get) }
	var problems []SiteProblem
	var sizes []int64
	for _, v := range vs {
		p := translog.WitnessPath(v.Name())
		msg, ferr := get(ctx, p, translog.MaxCheckpointSize)
		st, err := checkCosigned(ctx, v, msg, ferr, root, tree, now, maxAge, consistent)
		switch {
		case err != nil: // a split view, or a proof that could not be read
			problems = append(problems, SiteProblem{Path: p, Err: err.Error()})
		case st.Bad:
			problems = append(problems, SiteProblem{Path: p, Err: "witness " + v.Name() + ": " + st.Problem})
		}
		if st.Valid {
			sizes = append(sizes, st.Size)
		}
		rep.Witnesses = append(rep.Witnesses, st)
	}
	rep.Valid = len(sizes)
	rep.Size = quorumSize(sizes, rep.Required)
	if rep.Valid < rep.Required {
		var why []string
		for _, st := range rep.Witnesses {
			if !st.Valid {
				why = append(why, st.Name+": "+st.Problem)
			}
		}
		problems = append(problems, SiteProblem{Path: translog.WitnessDir, Err: fmt.Sprintf("%v: %d required, %d valid; %s", ErrNotWitnessed, rep.Required, rep.Valid, strings.Join(why, "; "))})
	}
	return rep, problems, nil
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
