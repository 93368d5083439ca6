package repl

import "testing"

func TestThePromptSaysOfflineUntilTheAccountIsOnlineWhateverTheConversation(t *testing.T) {
	tr := newTestRepl(t)
	tr.r.SetOnline(false)
	if tr.io.prompt != "[no conversation] (offline) > " {
		t.Fatalf("offline prompt %q", tr.io.prompt)
	}
	tr.do("/dm bob")
	if tr.io.prompt != "[@bob@a.example] (offline) > " {
		t.Fatalf("offline prompt after /dm: %q", tr.io.prompt)
	}
	tr.r.SetOnline(true)
	if tr.io.prompt != "[@bob@a.example] > " {
		t.Fatalf("online prompt: %q", tr.io.prompt)
	}
}
