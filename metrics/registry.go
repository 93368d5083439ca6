package metrics

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// metricType is the word a family's # TYPE line ends with.
type metricType string

const (
	typeCounter   metricType = "counter"
	typeGauge     metricType = "gauge"
	typeHistogram metricType = "histogram"
	typeSummary   metricType = "summary"
)

// family is one registered metric name: its header and the function that
// writes its samples at scrape time.
type family struct {
	name string
	help string
	typ  metricType
	// write writes the header and samples, or nothing at all when the
	// family has no value to report on this scrape.
	write func(w *textWriter, f *family)
}

// Registry holds a set of metrics and writes them in the Prometheus text
// format. The zero value is not usable; create one with NewRegistry. A
// Registry is safe for concurrent use: metrics may be registered while it is
// being scraped, though they are normally all registered during setup.
type Registry struct {
	mu sync.Mutex
	// names maps every series name in use (a histogram's _bucket, _sum and
	// _count too) to the family that writes it, to refuse clashing names.
	names map[string]string
	// families is sorted by name and replaced on registration, never
	// changed in place, so a scrape can use it without holding mu.
	families []*family
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{names: make(map[string]string)}
}

// register adds families, refusing them all if one has an invalid name or
// one that clashes with the series of another.
func (r *Registry) register(fs ...*family) error {
	for _, f := range fs {
		if !validMetricName(f.name) {
			return fmt.Errorf("metrics: %q: %w", f.name, ErrInvalidName)
		}
		// The text format is UTF-8; a help text is not worth an error.
		f.help = strings.ToValidUTF8(f.help, "\uFFFD")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	added := make(map[string]string)
	for _, f := range fs {
		for _, s := range seriesNames(f.name, f.typ) {
			owner, ok := r.names[s]
			if !ok {
				owner, ok = added[s]
			}
			if ok {
				return fmt.Errorf("metrics: %q clashes with %q: %w", f.name, owner, ErrDuplicateName)
			}
			added[s] = f.name
		}
	}
	for s, owner := range added {
		r.names[s] = owner
	}
	families := slices.Clone(r.families)
	for _, f := range fs {
		i, _ := slices.BinarySearchFunc(families, f.name, func(e *family, name string) int {
			return strings.Compare(e.name, name)
		})
		families = slices.Insert(families, i, f)
	}
	r.families = families
	return nil
}

// snapshot returns the families to scrape, sorted by name.
func (r *Registry) snapshot() []*family {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.families
}

// seriesNames lists the names that a family of type typ writes samples under.
func seriesNames(name string, typ metricType) []string {
	switch typ {
	case typeHistogram:
		return []string{name, name + "_bucket", name + "_sum", name + "_count"}
	case typeSummary:
		return []string{name, name + "_sum", name + "_count"}
	default:
		return []string{name}
	}
}

// writers recycles scrape buffers, which otherwise would be allocated and
// grown again on every scrape.
var writers = sync.Pool{New: func() any { return new(textWriter) }}

func getWriter() *textWriter { return writers.Get().(*textWriter) }

func putWriter(tw *textWriter) {
	tw.buf = tw.buf[:0]
	tw.memRead = false
	writers.Put(tw)
}

// WriteText writes every metric of the Registry to w in the Prometheus text
// exposition format 0.0.4 (see ContentType), families sorted by name. The
// text is built in memory and written with a single Write; the only error is
// the one that Write returns.
func (r *Registry) WriteText(w io.Writer) error {
	tw := getWriter()
	defer putWriter(tw)
	r.appendText(tw)
	_, err := w.Write(tw.buf)
	return err
}

// AppendText appends what WriteText writes to b and returns the extended
// slice, for a caller that keeps its own buffer.
func (r *Registry) AppendText(b []byte) []byte {
	tw := getWriter()
	defer putWriter(tw)
	saved := tw.buf
	tw.buf = b
	r.appendText(tw)
	b = tw.buf
	tw.buf = saved
	return b
}

func (r *Registry) appendText(tw *textWriter) {
	for _, f := range r.snapshot() {
		f.write(tw, f)
	}
}

// validMetricName reports whether s matches ^[a-zA-Z_:][a-zA-Z0-9_:]*$.
func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// validLabelName reports whether s matches ^[a-zA-Z_][a-zA-Z0-9_]*$ and is
// not reserved for Prometheus' own use by a leading "__".
func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// checkLabelNames validates the label names of a vector; reserved names the
// metric type writes itself ("le") are refused too.
func checkLabelNames(metric string, names []string, reserved ...string) error {
	for i, n := range names {
		if !validLabelName(n) || slices.Contains(reserved, n) || slices.Contains(names[:i], n) {
			return fmt.Errorf("metrics: %q: label %q: %w", metric, n, ErrInvalidLabelName)
		}
	}
	return nil
}

// must panics with err when it is not nil; the Must constructors use it.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
