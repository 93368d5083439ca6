'use strict';
'require view';
'require rpc';
'require poll';
'require ui';

// The status page of the qpc node: what `qpc admin status --json` says,
// through the rpcd plugin (ubus object qpc), refreshed every 10 seconds.

var callStatus = rpc.declare({
	object: 'qpc',
	method: 'status'
});

var callDrain = rpc.declare({
	object: 'qpc',
	method: 'drain',
	params: [ 'off' ]
});

// bytes writes a size as people read it.
function bytes(n) {
	var units = [ 'B', 'KiB', 'MiB', 'GiB' ], i = 0;
	n = +n || 0;
	while (n >= 1024 && i < units.length - 1) {
		n /= 1024;
		i++;
	}
	return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
}

// duration writes seconds as days, hours and minutes.
function duration(s) {
	s = Math.max(0, Math.floor(+s || 0));
	var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
	if (d > 0)
		return d + 'd ' + h + 'h';
	if (h > 0)
		return h + 'h ' + m + 'm';
	return m + 'm ' + (s % 60) + 's';
}

// since writes a Unix time as the time passed since it.
function since(t) {
	if (!t)
		return '-';
	return duration(Date.now() / 1000 - t) + ' ' + _('ago');
}

function table(id, head, rows, empty) {
	var t = E('table', { 'class': 'table', 'id': id }, [
		E('tr', { 'class': 'tr table-titles' }, head.map(function(h) {
			return E('th', { 'class': 'th' }, h);
		}))
	]);
	if (!rows.length)
		t.appendChild(E('tr', { 'class': 'tr placeholder' }, [
			E('td', { 'class': 'td', 'colspan': head.length }, E('em', {}, empty))
		]));
	rows.forEach(function(r) {
		t.appendChild(E('tr', { 'class': 'tr' }, r.map(function(c) {
			return E('td', { 'class': 'td' }, c);
		})));
	});
	return t;
}

// facts is a two-column table of names and values.
function facts(id, pairs) {
	return E('table', { 'class': 'table', 'id': id }, pairs.map(function(p) {
		return E('tr', { 'class': 'tr' }, [
			E('td', { 'class': 'td left', 'width': '33%' }, p[0]),
			E('td', { 'class': 'td left' }, p[1])
		]);
	}));
}

function section(title, body) {
	return E('div', { 'class': 'cbi-section' }, [ E('h3', {}, title), body ]);
}

return view.extend({
	load: function() {
		return L.resolveDefault(callStatus(), { error: _('no answer from the rpcd plugin') });
	},

	handleDrain: function(off) {
		return callDrain(off).then(L.bind(function(res) {
			if (res && res.error) {
				ui.addNotification(null, E('p', {}, res.error), 'error');
				return;
			}
			ui.addNotification(null, E('p', {}, res.draining ?
				_('The node refuses new clients until draining is turned off.') :
				_('The node accepts clients again.')), 'info');
			return this.refresh();
		}, this));
	},

	// refresh shows the node's status anew.
	refresh: function() {
		return L.resolveDefault(callStatus(), null).then(L.bind(function(st) {
			var body = this.body;
			if (!st || !body)
				return;
			while (body.firstChild)
				body.removeChild(body.firstChild);
			body.appendChild(this.renderBody(st));
		}, this));
	},

	renderBody: function(st) {
		if (!st || st.error)
			return E('div', { 'class': 'alert-message warning', 'id': 'qpc-error' },
				_('The node does not answer: ') + ((st && st.error) || '?'));

		var q = st.queues || {}, ch = st.channels || {}, f = st.files || {}, m = st.metrics || {};
		var links = (st.links || []).map(function(l) {
			return [ l.domain, l.address, E('span', { 'class': 'qpc-link-state' }, l.state), since(l.since) ];
		});
		var nearby = (st.nearby || []).map(function(n) {
			return [ n.instance, n.domain, n.address ];
		});

		return E('div', { 'id': 'qpc-status' }, [
			section(_('Node'), facts('qpc-node', [
				[ _('Domain'), E('strong', { 'id': 'qpc-domain' }, st.domain) ],
				[ _('Node id'), E('code', {}, st.node_id) ],
				[ _('Version'), st.version + ' (' + st.platform + ')' ],
				[ _('Uptime'), duration(st.uptime_s) ],
				[ _('Registration'), st.registration || 'open' ],
				[ _('Clients connected'), String(st.clients) ],
				[ _('Accounts'), String(st.accounts) ],
				[ _('Draining'), st.draining ? _('yes: new clients are refused') : _('no') ]
			])),
			section(_('Federation links'), table('qpc-links',
				[ _('Domain'), _('Address'), _('State'), _('Since') ], links,
				_('No links: this node is alone (federation needs certificates and peers or mDNS).'))),
			section(_('Nearby nodes (mDNS)'), table('qpc-nearby',
				[ _('Instance'), _('Domain'), _('Address') ], nearby,
				_('No qpc node seen on the local network.'))),
			section(_('Queues'), facts('qpc-queues', [
				[ _('Mailboxes'), q.mailbox_messages + ' ' + _('messages') + ', ' + bytes(q.mailbox_bytes) ],
				[ _('Store-and-forward'), q.mesh_envelopes + ' ' + _('envelopes') + ', ' + bytes(q.mesh_bytes) ],
				[ _('Channels'), ch.channels + ' ' + _('channels') + ', ' + ch.posts + ' ' + _('posts kept') ],
				[ _('Files'), f.count + ' ' + _('files') + ', ' + bytes(f.bytes) + ' ' + _('of') + ' ' + bytes(f.limit) ]
			])),
			section(_('Since the node started'), facts('qpc-metrics', [
				[ _('Messages enqueued'), String(m.messages_enqueued) ],
				[ _('Messages delivered'), String(m.messages_delivered) ],
				[ _('Registrations refused'), String(m.registrations_refused) ],
				[ _('Failed logins'), String(m.logins_failed) ]
			])),
			E('div', { 'class': 'cbi-section' }, [
				E('button', {
					'class': 'cbi-button cbi-button-action',
					'id': 'qpc-drain',
					'click': ui.createHandlerFn(this, 'handleDrain', !!st.draining)
				}, st.draining ? _('Accept clients again') : _('Drain: refuse new clients (maintenance)'))
			])
		]);
	},

	render: function(st) {
		this.body = E('div', { 'id': 'qpc-body' }, this.renderBody(st));
		poll.add(L.bind(this.refresh, this), 10);
		return E('div', {}, [
			E('h2', {}, _('qpc node')),
			E('div', { 'class': 'cbi-map-descr' },
				_('End-to-end encrypted messaging for the mesh. The node never sees what its users write; this page shows what it holds and whom it is linked to.')),
			this.body
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
