package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/datadir"
)

// maxCertDays bounds --days of qpc ca issue: ten years is already longer
// than a router lives, and a shorter life keeps rotation a practised step.
const maxCertDays = 3650

// caTime is how qpc ca prints a certificate's validity: in UTC, as
// certificates store it.
const caTime = "2006-01-02 15:04:05 UTC"

// caCertJSON is one certificate in `qpc ca show --json`.
type caCertJSON struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	DNSNames    []string  `json:"dns_names"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	Expired     bool      `json:"expired"`
	NotYetValid bool      `json:"not_yet_valid"`
	IsCA        bool      `json:"is_ca"`
	Fingerprint string    `json:"fingerprint"`
}

func caUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: qpc ca <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The community certificate authority for federation: the nodes of a community link")
	fmt.Fprintln(w, "with mutual TLS, each presenting a certificate this CA issued for its domain.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	fmt.Fprintln(w, "  init    create a CA:                    qpc ca init --dir DIR [--name NAME]")
	fmt.Fprintln(w, "  issue   issue a node's certificate:     qpc ca issue --dir DIR --domain DOMAIN --out PREFIX [--days 825]")
	fmt.Fprintln(w, "  show    describe a certificate file:    qpc ca show [--json] FILE")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Keep the CA directory (ca.key) offline, never on a router. Run 'qpc ca <command> --help'")
	fmt.Fprintln(w, "for a command's flags; docs/federation.md walks through setting up a community.")
}

func runCA(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		caUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		caUsage(stdout)
		return exitOK
	case "init":
		return runCAInit(args[1:], stdout, stderr)
	case "issue":
		return runCAIssue(args[1:], stdout, stderr)
	case "show":
		return runCAShow(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "qpc ca: unknown command %q (try: qpc ca --help)\n", args[0])
	return exitUsage
}

func runCAInit(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ca init", "--dir DIR [--name NAME]", stderr)
	dir := fs.String("dir", "", "create the CA in `DIR` (made with mode 0700 if missing); required")
	name := fs.String("name", ca.DefaultName, "the CA's common `NAME`, shown as the issuer of every certificate it issues")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "qpc ca init: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case *dir == "":
		fmt.Fprintln(stderr, "qpc ca init: --dir is required")
		return exitUsage
	}
	a, err := datadir.InitCA(*dir, *name)
	switch {
	case errors.Is(err, ca.ErrBadName):
		printErr(stderr, "qpc ca init: --name", err)
		return exitUsage
	case errors.Is(err, ca.ErrExists):
		fmt.Fprintf(stderr, "qpc ca init: %s (a CA is there already; see it with qpc ca show %s)\n",
			sayError(err), filepath.Join(*dir, ca.CertFile))
		return exitFailure
	case err != nil:
		printErr(stderr, "qpc ca init", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "created the community CA %q\n", a.Cert.Subject.CommonName)
	fmt.Fprintf(stdout, "  certificate  %s  (public: every node gets a copy, --federation-ca)\n", filepath.Join(*dir, ca.CertFile))
	fmt.Fprintf(stdout, "  key          %s  (secret: whoever has it can add nodes to the community)\n", filepath.Join(*dir, ca.KeyFile))
	fmt.Fprintf(stdout, "  valid until  %s\n", a.Cert.NotAfter.UTC().Format(caTime))
	fmt.Fprintf(stdout, "  fingerprint  %s\n", a.Fingerprint())
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "Keep ca.key offline (this machine, a USB stick), never on a router, and back it up:")
	fmt.Fprintln(stdout, "without it no new node can join and no certificate can be renewed.")
	fmt.Fprintf(stdout, "Next, per node: qpc ca issue --dir %s --domain DOMAIN --out PREFIX\n", *dir)
	return exitOK
}

func runCAIssue(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ca issue", "--dir DIR --domain DOMAIN --out PREFIX [--days 825]", stderr)
	dir := fs.String("dir", "", "the CA directory `DIR` made by qpc ca init; required")
	domain := fs.String("domain", "", "the node's domain `DOMAIN` (its --domain), the certificate's only DNS name; required")
	out := fs.String("out", "", "write `PREFIX`.crt and PREFIX.key (for example /tmp/node1/federation); required")
	days := fs.Int("days", int(ca.DefaultLeafValidity/(24*time.Hour)), fmt.Sprintf("days the certificate is valid, 1 to %d", maxCertDays))
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	for _, req := range []struct{ flag, value string }{{"dir", *dir}, {"domain", *domain}, {"out", *out}} {
		if req.value == "" {
			fmt.Fprintf(stderr, "qpc ca issue: --%s is required\n", req.flag)
			return exitUsage
		}
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "qpc ca issue: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case *days <= 0 || *days > maxCertDays:
		fmt.Fprintf(stderr, "qpc ca issue: --days %d is out of range 1-%d\n", *days, maxCertDays)
		return exitUsage
	case strings.HasSuffix(*out, ".crt") || strings.HasSuffix(*out, ".key"):
		// Otherwise node1.crt would become node1.crt.crt.
		prefix := strings.TrimSuffix(strings.TrimSuffix(*out, ".crt"), ".key")
		fmt.Fprintf(stderr, "qpc ca issue: --out is a path prefix: give %s to write %s.crt and %s.key\n", prefix, prefix, prefix)
		return exitUsage
	}
	if err := ca.ValidateDomain(*domain); err != nil {
		printErr(stderr, "qpc ca issue: --domain", err)
		return exitUsage
	}
	a, err := ca.Load(*dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w (make a CA with qpc ca init --dir %s)", err, *dir)
		}
		printErr(stderr, "qpc ca issue", err)
		return exitFailure
	}
	notBefore := time.Now().Add(-ca.ClockSkew)
	notAfter := notBefore.Add(time.Duration(*days) * 24 * time.Hour)
	err = datadir.IssueCAFiles(a, ca.IssueOptions{Domain: *domain, NotBefore: notBefore, NotAfter: notAfter}, *out)
	if errors.Is(err, ca.ErrOutlivesCA) {
		if most := int(a.Cert.NotAfter.Sub(notBefore) / (24 * time.Hour)); most >= 1 {
			err = fmt.Errorf("%w; use --days %d or less", err, most)
		} else {
			err = fmt.Errorf("%w; the CA expires within a day: make a new one", err)
		}
	}
	if err != nil {
		printErr(stderr, "qpc ca issue", err)
		return exitFailure
	}
	certPath, keyPath, caPath := *out+".crt", *out+".key", filepath.Join(*dir, ca.CertFile)
	data, err := os.ReadFile(certPath)
	var infos []ca.Info
	if err == nil {
		infos, err = ca.Describe(data)
	}
	if err != nil {
		printErr(stderr, "qpc ca issue: issued, but cannot read it back", err)
		return exitFailure
	}
	in := infos[0]
	fmt.Fprintf(stdout, "issued a certificate for %s\n", *domain)
	fmt.Fprintf(stdout, "  certificate  %s\n", certPath)
	fmt.Fprintf(stdout, "  key          %s  (secret: belongs on this node only)\n", keyPath)
	fmt.Fprintf(stdout, "  DNS name     %s\n", strings.Join(in.DNSNames, ", "))
	fmt.Fprintf(stdout, "  valid        %s to %s (%d days)\n", in.NotBefore.UTC().Format(caTime), in.NotAfter.UTC().Format(caTime), *days)
	fmt.Fprintf(stdout, "  fingerprint  %s\n", in.Fingerprint)
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "Run the node with these files:")
	fmt.Fprintf(stdout, "  qpc node --domain %s --federation-cert %s --federation-key %s --federation-ca %s\n",
		*domain, certPath, keyPath, caPath)
	fmt.Fprintf(stdout, "On OpenWrt, copy %s, %s and %s to /etc/qpc on the router\n", certPath, keyPath, caPath)
	fmt.Fprintln(stdout, "(as federation.crt, federation.key and community-ca.crt, owned by qpc) and set:")
	fmt.Fprintln(stdout, "  uci set qpc.node.federation_cert=/etc/qpc/federation.crt")
	fmt.Fprintln(stdout, "  uci set qpc.node.federation_key=/etc/qpc/federation.key")
	fmt.Fprintln(stdout, "  uci set qpc.node.federation_ca=/etc/qpc/community-ca.crt")
	fmt.Fprintln(stdout, "  uci commit qpc; /etc/init.d/qpc restart")
	return exitOK
}

func runCAShow(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ca show", "[--json] FILE", stderr)
	asJSON := fs.Bool("json", false, "print the certificates as a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "qpc ca show: unexpected argument %q (one FILE at a time)\n", fs.Arg(1))
		return exitUsage
	}
	file := fs.Arg(0)
	if file == "" {
		fmt.Fprintln(stderr, "qpc ca show: a FILE of PEM certificates is required (such as ca.crt)")
		return exitUsage
	}
	data, err := os.ReadFile(file)
	if err != nil {
		printErr(stderr, "qpc ca show", err)
		return exitFailure
	}
	infos, err := ca.Describe(data)
	if err != nil {
		printErr(stderr, "qpc ca show: "+file, err)
		return exitFailure
	}
	now := time.Now()
	if *asJSON {
		out := make([]caCertJSON, 0, len(infos))
		for _, in := range infos {
			names := in.DNSNames
			if names == nil {
				names = []string{} // an empty list, not null, for scripts
			}
			out = append(out, caCertJSON{
				Subject: in.Subject, Issuer: in.Issuer, DNSNames: names,
				NotBefore: in.NotBefore.UTC(), NotAfter: in.NotAfter.UTC(),
				Expired: now.After(in.NotAfter), NotYetValid: now.Before(in.NotBefore),
				IsCA: in.IsCA, Fingerprint: in.Fingerprint,
			})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return exitOK
	}
	for i, in := range infos {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		names, isCA := strings.Join(in.DNSNames, ", "), "no"
		if names == "" {
			names = "(none)"
		}
		if in.IsCA {
			isCA = "yes"
		}
		notBefore, notAfter := in.NotBefore.UTC().Format(caTime), in.NotAfter.UTC().Format(caTime)
		if now.Before(in.NotBefore) {
			notBefore += "  not yet valid"
		}
		if now.After(in.NotAfter) {
			notAfter += "  EXPIRED"
		}
		fmt.Fprintf(stdout, "certificate %d of %d\n", i+1, len(infos))
		fmt.Fprintf(stdout, "  subject      %s\n", in.Subject)
		fmt.Fprintf(stdout, "  issuer       %s\n", in.Issuer)
		fmt.Fprintf(stdout, "  DNS names    %s\n", names)
		fmt.Fprintf(stdout, "  not before   %s\n", notBefore)
		fmt.Fprintf(stdout, "  not after    %s\n", notAfter)
		fmt.Fprintf(stdout, "  CA           %s\n", isCA)
		fmt.Fprintf(stdout, "  fingerprint  %s\n", in.Fingerprint)
	}
	return exitOK
}
