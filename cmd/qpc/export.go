//go:build !router

package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/quicprochat/qpc/client/archive"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealedfile"
)

// This file is qpc export (a conversation as a transcript archive) and
// qpc export verify (issue 30, docs/backup.md).

func runExport(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "verify" {
		return runExportVerify(args[1:], stdout, stderr)
	}
	fs := newFlagSet("export", "--conversation NAME FILE [--passphrase-file F] [--force] [--json] [flags]\n"+
		"       qpc export verify FILE [--show] [--json]\n\n"+
		"Writes the history of one conversation as this machine holds it (qpc recv first for the newest) into FILE:\n"+
		"records chained by hash, a Merkle root over them, signed by the account key (or by this device, certified by\n"+
		"it), encrypted under a passphrase. qpc export verify FILE checks it and names any record that was changed,\n"+
		"removed, moved or added.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	var sec secretFlags
	sec.bind(fs, stderr, false)
	name := fs.String("conversation", "", "the conversation: a contact (bob, @bob@domain), a group (#club), or notes")
	force := fs.Bool("force", false, "replace FILE if it exists")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	words, err := parseWithArgs(fs, args)
	if err != nil {
		return parseError(err)
	}
	if len(words) != 1 || *name == "" {
		fmt.Fprintln(stderr, "qpc export: give --conversation NAME and one FILE to write (see --help)")
		return exitUsage
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc export", err)
		return exitUsage
	}
	file := words[0]
	if _, err := os.Stat(file); err == nil && !*force {
		printErr(stderr, "qpc export", fmt.Errorf("%s: %w", file, errFileExists))
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc export", err)
		return exitFailure
	}
	defer s.Close()
	content, conv, n, err := exportConversation(s, *name)
	if err != nil {
		printErr(stderr, "qpc export", err)
		return exitFailure
	}
	pw, err := sec.passphrase("Archive passphrase: ", true, func(pw []byte) error { return checkNewPassword(pw, s.Current().User) })
	if err != nil {
		printErr(stderr, "qpc export", err)
		return exitFailure
	}
	size, err := writeOutput(file, *force, func(w io.Writer) error {
		return archive.Write(w, content, sealedOptions(pw))
	})
	if err != nil {
		printErr(stderr, "qpc export", err)
		return exitFailure
	}
	// Verified back from what was built: the root and signer printed are
	// those a verifier will see.
	v, err := archive.Verify(content)
	if err != nil {
		printErr(stderr, "qpc export", err)
		return exitFailure
	}
	if *asJSON {
		out := exportJSON{File: file, Size: size, Conversation: conv.Name, Kind: conv.Kind.String(), Records: n}
		out.fill(v)
		json.NewEncoder(stdout).Encode(out)
		return exitOK
	}
	fmt.Fprintf(stdout, "exported %d %s of %s into %s (%d bytes), signed by %s\n", n, termtext.Plural(n, "record"),
		termtext.Safe(conv.Name), file, size, signedBy(v))
	fmt.Fprintf(stdout, "Merkle root %x\n", v.Root)
	return exitOK
}

// exportConversation builds the archive of the conversation called name,
// signed by the account key where this device holds it, else by the
// device with its certificate.
func exportConversation(s *session.Session, name string) ([]byte, archive.Conversation, int, error) {
	eng, err := s.OpenChat(nil)
	if err != nil {
		return nil, archive.Conversation{}, 0, err
	}
	defer eng.Close()
	return exportConversationIn(s, eng, name)
}

// exportConversationIn is exportConversation in the chat engine eng,
// open already (the REPL's /export).
func exportConversationIn(s *session.Session, eng *chat.Engine, name string) ([]byte, archive.Conversation, int, error) {
	var conv archive.Conversation
	c, err := eng.Find(name)
	if err != nil {
		return nil, conv, 0, err
	}
	ms, err := eng.History(c.ID, 0)
	if err != nil {
		return nil, conv, 0, err
	}
	conv = archive.Conversation{Name: c.Name, Kind: archive.Kind(c.Kind), Members: c.Members}
	records := make([]archive.Record, len(ms))
	for i, m := range ms {
		records[i] = archive.Record{Seq: m.Seq, ID: m.ID, From: m.From, Time: m.Time, Received: m.Received, System: m.System, Text: m.Text,
			Edited: m.Edited, Deleted: m.Deleted}
		if m.Deleted {
			// The database wipes a deleted line's text; a record of one
			// says deleted and carries none, whatever was left.
			records[i].Text = ""
		}
	}
	signer, err := exportSigner(s)
	if err != nil {
		return nil, conv, 0, err
	}
	content, err := archive.Build(signer, conv, records, time.Now())
	return content, conv, len(records), err
}

func exportSigner(s *session.Session) (archive.Signer, error) {
	acct := s.Account()
	address := strings.ToLower(s.Current().Address())
	if acct.List != nil {
		address = acct.List.Address
	}
	if seed := s.State().AccountKeySeed; len(seed) > 0 {
		return archive.AccountSigner(address, seed)
	}
	if acct.List == nil {
		return archive.Signer{}, errors.New("this account has no device list yet; log in once more and try again")
	}
	d, ok := acct.List.Find(acct.DeviceID())
	if !ok || !d.Current() {
		return archive.Signer{}, errors.New("this device is not a current device of the account's list")
	}
	return archive.DeviceSigner(address, acct.List.AccountKey, acct.Keys.Identity, d.Cert)
}

// exportJSON is qpc export --json and qpc export verify --json.
type exportJSON struct {
	OK                    bool         `json:"ok"`
	File                  string       `json:"file,omitempty"`
	Size                  int64        `json:"size,omitempty"`
	Address               string       `json:"address"`
	Conversation          string       `json:"conversation"`
	Kind                  string       `json:"kind"`
	Members               []string     `json:"members"`
	Records               int          `json:"records"`
	Exported              int64        `json:"exported"`
	Root                  string       `json:"root"`
	SignedBy              string       `json:"signed_by"`
	Device                string       `json:"device,omitempty"`
	DeviceID              string       `json:"device_id,omitempty"`
	AccountKeyFingerprint string       `json:"account_key_fingerprint"`
	Lines                 []recordJSON `json:"lines,omitempty"`
}

// recordJSON is one record of qpc export verify --show --json: edited is
// the unix time of the last edit (absent: never edited), deleted marks a
// line its sender deleted (its text is empty).
type recordJSON struct {
	Seq     uint64 `json:"seq"`
	From    string `json:"from"`
	Time    int64  `json:"time"`
	System  bool   `json:"system,omitempty"`
	Text    string `json:"text"`
	Edited  int64  `json:"edited,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
}

func toRecordJSON(r archive.Record) recordJSON {
	out := recordJSON{Seq: r.Seq, From: r.From, Time: r.Time.Unix(), System: r.System, Text: r.Text, Deleted: r.Deleted}
	if !r.Edited.IsZero() {
		out.Edited = r.Edited.Unix()
	}
	return out
}

// recordLine is one record of qpc export verify --show, for a person.
func recordLine(r archive.Record) string {
	from := termtext.Safe(r.From)
	if r.System {
		from = "--"
	}
	text := termtext.Line(r.Text)
	switch {
	case r.Deleted:
		text = "(deleted)"
	case !r.Edited.IsZero():
		text += " (edited " + r.Edited.Local().Format(time.DateTime) + ")"
	}
	return fmt.Sprintf("[%s] %s: %s", r.Time.Local().Format(time.DateTime), from, text)
}

func (o *exportJSON) fill(v *archive.Verified) {
	o.OK = true
	o.Address, o.Conversation, o.Kind, o.Members = v.Address, v.Conversation.Name, v.Conversation.Kind.String(), v.Conversation.Members
	o.Records, o.Exported, o.Root = len(v.Records), v.Exported.Unix(), hex.EncodeToString(v.Root[:])
	o.AccountKeyFingerprint = identity.Fingerprint(v.AccountKey)
	o.SignedBy = "account key"
	if !v.SignedByAccountKey() {
		o.SignedBy, o.Device, o.DeviceID = "device", v.DeviceName, v.Device.String()
	}
}

// signedBy names who signed v, for a person.
func signedBy(v *archive.Verified) string {
	if v.SignedByAccountKey() {
		return "the account key of " + termtext.Safe(v.Address)
	}
	return fmt.Sprintf("%s's device %q (%s), certified by its account key", termtext.Safe(v.Address), termtext.Safe(v.DeviceName), v.Device)
}

func runExportVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("export verify", "FILE [--show] [--json] [--passphrase-file F]\n\n"+
		"Opens a transcript archive with its passphrase and checks its signature, its chain of records, its Merkle root\n"+
		"and that no record is missing or added. It exits 1 and names the record when one fails. Compare the account key\n"+
		"fingerprint it prints with the account's, to know whose archive it is.", stderr)
	var sec secretFlags
	sec.bind(fs, stderr, false)
	show := fs.Bool("show", false, "print the records too")
	expect := fs.String("account-key", "", "the account key fingerprint the archive must be signed under (as verify prints it; spaces optional)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	words, err := parseWithArgs(fs, args)
	if err != nil {
		return parseError(err)
	}
	if len(words) != 1 {
		fmt.Fprintln(stderr, "qpc export verify: give the archive FILE (see --help)")
		return exitUsage
	}
	fail := func(err error) int {
		if *asJSON {
			out := struct {
				OK     bool   `json:"ok"`
				Error  string `json:"error"`
				Record uint32 `json:"record,omitempty"`
			}{Error: sayError(err)}
			var re *archive.RecordError
			if errors.As(err, &re) {
				out.Record = re.Number
			}
			json.NewEncoder(stdout).Encode(out)
		}
		printErr(stderr, "qpc export verify", err)
		return exitFailure
	}
	in, err := os.Open(words[0])
	if err != nil {
		return fail(err)
	}
	defer in.Close()
	content, err := archive.Read(bufio.NewReaderSize(in, 256<<10), sec.secret)
	if err != nil {
		return fail(err)
	}
	v, err := archive.Verify(content)
	if err != nil {
		return fail(err)
	}
	if *expect != "" && compactFingerprint(*expect) != compactFingerprint(identity.Fingerprint(v.AccountKey)) {
		return fail(fmt.Errorf("%w: it is signed under %s", errOtherAccountKey, identity.Fingerprint(v.AccountKey)))
	}
	if *asJSON {
		var out exportJSON
		out.fill(v)
		if *show {
			for _, r := range v.Records {
				out.Lines = append(out.Lines, toRecordJSON(r))
			}
		}
		json.NewEncoder(stdout).Encode(out)
		return exitOK
	}
	fmt.Fprintf(stdout, "VALID: %d %s of the %s %s, exported by %s on %s\n", len(v.Records), termtext.Plural(len(v.Records), "record"),
		v.Conversation.Kind, termtext.Safe(v.Conversation.Name), termtext.Safe(v.Address), v.Exported.Local().Format(time.DateTime))
	fmt.Fprintf(stdout, "signed by %s\naccount key fingerprint  %s\nMerkle root              %x\n", signedBy(v), identity.Fingerprint(v.AccountKey), v.Root)
	if *show {
		for _, r := range v.Records {
			fmt.Fprintln(stdout, recordLine(r))
		}
	}
	return exitOK
}

// errOtherAccountKey means a valid archive is signed under another
// account key than --account-key names.
var errOtherAccountKey = errors.New("the archive is valid, but not signed under the account key given")

// compactFingerprint is a fingerprint without spaces, in lower case.
func compactFingerprint(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

// sealedOptions seals under a passphrase at the default cost.
func sealedOptions(pw []byte) sealedfile.Options {
	return sealedfile.Options{Secret: sealedfile.Passphrase, Key: pw}
}
