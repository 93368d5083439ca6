package admin

import (
	"context"
	"crypto/hpke"
	"encoding/json"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/report"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// reportingBackend is the fake backend with reports kept in memory.
type reportingBackend struct {
	fakeBackend
	key  hpke.PrivateKey
	kept []SealedReport
}

func (b *reportingBackend) SealedReports() ([]SealedReport, error) { return b.kept, nil }
func (b *reportingBackend) ReportKey() (hpke.PrivateKey, error)    { return b.key, nil }

func reportsOf(t *testing.T, path string) protocol.AdminReports {
	t.Helper()
	out, err := call(context.Background(), path, func(ctx context.Context, s schemas.AdminService) (string, error) {
		return result(s.Reports(ctx, nil))
	})
	var r protocol.AdminReports
	if err != nil || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("reports: %q, %v", out, err)
	}
	return r
}

func TestReportsAreOpenedWithTheKeyNewestFirstAndOddOnesSaySo(t *testing.T) {
	key, err := report.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	seal := func(reporter, text, note string) []byte {
		b, err := report.Seal(key.PublicKey().Bytes(), report.Report{Reporter: reporter, Sender: "mallory@a.mesh", Text: text, Note: note})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	other, _ := report.GenerateKey()
	wrong, _ := report.Seal(other.PublicKey().Bytes(), report.Report{Reporter: "ann@a.mesh", Sender: "x@a.mesh", Text: "hidden"})
	t0 := time.Unix(1_800_000_000, 0)
	b := &reportingBackend{key: key}
	path := serve(t, t.TempDir(), b)
	if r := reportsOf(t, path); r.Reports == nil || len(r.Reports) != 0 {
		t.Fatalf("no reports: %+v; want an empty list", r)
	}
	b.kept = []SealedReport{
		{Received: t0, Account: "ann@a.mesh", Sealed: seal("ann@a.mesh", "buy pills", "spam")},
		{Received: t0.Add(time.Minute), Account: "bob@a.mesh", Sealed: seal("ann@a.mesh", "hi", "")},
		{Received: t0.Add(2 * time.Minute), Account: "ann@a.mesh", Sealed: wrong},
	}
	got := reportsOf(t, path).Reports
	if len(got) != 3 {
		t.Fatalf("%d reports, want 3", len(got))
	}
	want := protocol.AdminReport{Time: t0.Unix(), Reporter: "ann@a.mesh", Sender: "mallory@a.mesh", Message: "buy pills", Note: "spam"}
	if got[2] != want {
		t.Errorf("the oldest: %+v, want %+v", got[2], want)
	}
	if got[1].Reporter != "bob@a.mesh" || got[1].Note != "(the report names ann@a.mesh as its reporter)" {
		t.Errorf("a report naming another reporter: %+v", got[1])
	}
	if got[0].Message != "" || got[0].Note == "" {
		t.Errorf("a report sealed to another key: %+v; want no text and a note why", got[0])
	}
}

func TestReportsWithoutASourceAreNotImplemented(t *testing.T) {
	path := serve(t, t.TempDir(), &fakeBackend{})
	_, err := call(context.Background(), path, func(ctx context.Context, s schemas.AdminService) (string, error) {
		return result(s.Reports(ctx, nil))
	})
	if err == nil {
		t.Fatal("reports of a backend without them answered")
	}
}
