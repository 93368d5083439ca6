package metrics

import "errors"

// ErrInvalidName is returned when a metric name does not match
// ^[a-zA-Z_:][a-zA-Z0-9_:]*$.
var ErrInvalidName = errors.New("invalid metric name")

// ErrDuplicateName is returned when a metric, or one of the series names it
// writes (a histogram's _bucket, _sum and _count), is already registered.
var ErrDuplicateName = errors.New("duplicate metric name")

// ErrInvalidLabelName is returned when a label name does not match
// ^[a-zA-Z_][a-zA-Z0-9_]*$, starts with the reserved "__", is declared twice,
// or is reserved by the metric type ("le" for histograms, "quantile" for
// summaries).
var ErrInvalidLabelName = errors.New("invalid label name")

// ErrLabelCount is returned when a vector is given a different number of
// label values than it has label names.
var ErrLabelCount = errors.New("wrong number of label values")

// ErrInvalidBuckets is returned when histogram bucket bounds are not strictly
// increasing, contain NaN, or a bucket generator is given parameters that
// cannot produce such bounds.
var ErrInvalidBuckets = errors.New("invalid histogram buckets")

// ErrNilFunc is returned when a GaugeFunc or CounterFunc is registered with a
// nil function.
var ErrNilFunc = errors.New("nil value function")
