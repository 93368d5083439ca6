package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/protocol"
)

func TestSendSaysWhetherTheMessageIsDeliveredOrQueuedInTheMesh(t *testing.T) {
	var id protocol.MeshID
	id[0], id[31] = 0xab, 0xcd
	hexID := hex.EncodeToString(id[:])
	tests := []struct {
		name string
		r    client.Receipt
		want string
	}{
		{"a message in the mailbox", client.Receipt{Seq: 4}, "sent to bob@b.mesh (seq 4)\n"},
		{"a message queued in the mesh", client.Receipt{MeshID: id, QueuedAt: "a.mesh"},
			"queued in the mesh at a.mesh (the recipient's node is not reachable now); id " + hexID +
				"; follow it with: qpc mesh track " + hexID + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			printReceipt(&out, session.Sent{Recipient: "bob@b.mesh", Receipt: tt.r}, false)
			if out.String() != tt.want {
				t.Errorf("got  %q\nwant %q", out.String(), tt.want)
			}
		})
	}
}

func TestSendJSONHasTheMeshIDOnlyWhenQueued(t *testing.T) {
	var id protocol.MeshID
	id[0] = 1
	for _, tt := range []struct {
		r    client.Receipt
		want string
	}{
		{client.Receipt{Seq: 4, ServerTime: time.UnixMilli(7)}, `{"recipient":"bob@b.mesh","seq":4,"server_time_ms":7,"key_changed":false}`},
		{client.Receipt{MeshID: id, QueuedAt: "a.mesh", ServerTime: time.UnixMilli(7)},
			`{"recipient":"bob@b.mesh","seq":0,"server_time_ms":7,"mesh_id":"` + hex.EncodeToString(id[:]) + `","queued_at":"a.mesh","key_changed":false}`},
	} {
		var out bytes.Buffer
		printReceipt(&out, session.Sent{Recipient: "bob@b.mesh", Receipt: tt.r}, true)
		var v map[string]any
		if err := json.Unmarshal(out.Bytes(), &v); err != nil || out.String() != tt.want+"\n" {
			t.Errorf("got  %s\nwant %s (%v)", out.String(), tt.want, err)
		}
	}
}
