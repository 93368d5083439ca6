package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

func TestMeshRoutePrintsOneLinePerRouteByDomain(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var out, errOut bytes.Buffer
	printRoutes(&out, &errOut, []protocol.MeshRoute{
		{Domain: "d.mesh", Via: "b.mesh", Hops: 3, Expires: now.Add(73 * time.Second)},
		{Domain: "b.mesh", Via: "b.mesh", Hops: 1},
	}, now)
	want := "DOMAIN  VIA     HOPS  EXPIRES\n" +
		"b.mesh  b.mesh  1     link\n" +
		"d.mesh  b.mesh  3     in 1m13s\n"
	if out.String() != want || errOut.Len() != 0 {
		t.Errorf("got\n%s(stderr %q)\nwant\n%s", out.String(), errOut.String(), want)
	}
}

func TestAnEmptyRoutingTableIsExplainedOnStderr(t *testing.T) {
	var out, errOut bytes.Buffer
	printRoutes(&out, &errOut, nil, time.Now())
	if out.Len() != 0 || strings.Count(errOut.String(), "\n") != 1 || !strings.Contains(errOut.String(), "no federation link up") {
		t.Errorf("stdout %q, stderr %q; want one line of explanation on stderr", out.String(), errOut.String())
	}
}

func TestMeshRouteJSONMarksLinksAndGivesExpiryOfTheOthers(t *testing.T) {
	exp := time.UnixMilli(1_800_000_090_000)
	b, err := json.Marshal(routesJSON([]protocol.MeshRoute{{Domain: "c.mesh", Via: "b.mesh", Hops: 2, Expires: exp}, {Domain: "b.mesh", Via: "b.mesh", Hops: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"domain":"b.mesh","via":"b.mesh","hops":1,"link":true},{"domain":"c.mesh","via":"b.mesh","hops":2,"link":false,"expires_ms":1800000090000}]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if b, _ := json.Marshal(routesJSON(nil)); string(b) != "[]" {
		t.Errorf("no routes as %s, want []", b)
	}
}

func TestMeshStoreShowsFillLevelDomainsAndCountersByReason(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var out bytes.Buffer
	printStore(&out, protocol.MeshReport{
		Store: protocol.MeshStoreStats{
			Envelopes: 3, Bytes: 4 << 20, MaxBytes: 16 << 20, Oldest: now.Add(-303 * time.Second), Seen: 42,
			Domains: []protocol.MeshDomainStats{{Domain: "e.mesh", Envelopes: 1, Bytes: 1 << 20}, {Domain: "d.mesh", Envelopes: 2, Bytes: 3 << 20}},
		},
		Counters: map[string]uint64{
			"forwarded": 7, "held": 10, "delivered": 2,
			"dropped:expired": 1, "dropped:hopLimit": 2,
			"refused:store-full": 4,
		},
	}, now)
	got := out.String()
	for _, want := range []string{
		"envelopes  3\n",
		"bytes      4.0 MiB of 16.0 MiB (25.0% full)\n",
		"oldest     held since 5m3s ago\n",
		"seen ids   42\n",
		"DESTINATION  ENVELOPES  BYTES\nd.mesh       2          3.0 MiB\ne.mesh       1          1.0 MiB\n",
		"dropped  3: expired 1, hopLimit 2\n",
		"refused  4: store-full 4\n",
		"counts   delivered 2, forwarded 7, held 10\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestAnEmptyStoreSaysNoneAndDash(t *testing.T) {
	var out bytes.Buffer
	printStore(&out, protocol.MeshReport{Store: protocol.MeshStoreStats{MaxBytes: 16 << 20}}, time.Now())
	for _, want := range []string{"bytes      0 B of 16.0 MiB (0.0% full)", "oldest     -", "dropped  none", "refused  none", "counts   none"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "DESTINATION") {
		t.Errorf("an empty store printed a table of destinations:\n%s", out.String())
	}
}

func TestMeshStoreJSONHasEveryFieldEvenWhenEmpty(t *testing.T) {
	b, err := json.Marshal(storeJSON(protocol.MeshReport{Store: protocol.MeshStoreStats{MaxBytes: 1 << 20}}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"envelopes":0,"bytes":0,"max_bytes":1048576,"seen":0,"domains":[],"counters":{}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestBytesAndDurationsAreWrittenForPeople(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{formatBytes(0), "0 B"},
		{formatBytes(1023), "1023 B"},
		{formatBytes(1536), "1.5 KiB"},
		{formatBytes(16 << 20), "16.0 MiB"},
		{formatBytes(3 << 30), "3.0 GiB"},
		{roughDuration(-time.Second), "0s"},
		{roughDuration(42*time.Second + 900*time.Millisecond), "42s"},
		{roughDuration(303 * time.Second), "5m3s"},
		{roughDuration(3*time.Hour + 20*time.Minute + 5*time.Second), "3h20m"},
		{roughDuration(167 * time.Hour), "6d23h"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
