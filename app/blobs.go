package app

import (
	"path/filepath"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/node/blob"
)

// partBlobs names the blob store's expiry sweeper among the node's parts.
const partBlobs = "files"

// newBlobs opens the node's file store in <store-dir>/blobs and the
// service over it, which proxies to other nodes through n.fed once that
// is built.
func (n *Node) newBlobs(cfg config.Node) (*blob.Service, error) {
	st, err := blob.Open(filepath.Join(cfg.StorePath(), blob.DirName), blob.Limits{
		MaxFile:    cfg.FileMaxSize,
		PerUser:    cfg.FileUserQuota,
		Total:      cfg.FileStoreSize,
		DefaultTTL: cfg.FileTTL,
		MaxTTL:     cfg.FileMaxTTL,
	}, nil)
	if err != nil {
		return nil, &config.FlagError{Flag: "store-dir", Err: err}
	}
	return blob.NewService(st, cfg.Domain, func() blob.Remote {
		if n.fed == nil {
			return nil
		}
		return n.fed
	}), nil
}

// registerBlobMetrics adds the file store's metrics, read at scrape time.
func (m *nodeMetrics) registerBlobMetrics(st *blob.Store) {
	r := m.reg
	r.MustGaugeFunc("qpc_files_stored_bytes", "Bytes of file chunks the node holds.", func() float64 { return float64(st.Stats().Stored) })
	r.MustGaugeFunc("qpc_files_reserved_bytes", "Declared bytes of the files held: what counts against --file-store-size.",
		func() float64 { return float64(st.Stats().Reserved) })
	r.MustGaugeFunc("qpc_files", "Files held.", func() float64 { return float64(st.Stats().Blobs) })
	r.MustCounterFunc("qpc_files_refused_too_large_total", "Uploads refused by --file-max-size.",
		func() float64 { return float64(st.Stats().RefusedFile) })
	r.MustCounterFunc("qpc_files_refused_user_quota_total", "Uploads refused by --file-user-quota.",
		func() float64 { return float64(st.Stats().RefusedUser) })
	r.MustCounterFunc("qpc_files_refused_store_full_total", "Uploads refused by --file-store-size.",
		func() float64 { return float64(st.Stats().RefusedNode) })
	r.MustCounterFunc("qpc_files_received_bytes_total", "File chunk bytes uploaded to this node.",
		func() float64 { return float64(st.Stats().BytesIn) })
	r.MustCounterFunc("qpc_files_sent_bytes_total", "File chunk bytes served by this node, its own and proxied.",
		func() float64 { return float64(st.Stats().BytesOut) })
}
