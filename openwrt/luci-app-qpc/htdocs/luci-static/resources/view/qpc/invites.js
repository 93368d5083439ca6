'use strict';
'require view';
'require rpc';
'require ui';

// The invite page: with registration 'invite' (OpenWrt's default) a new
// user needs a code the admin makes here. The code is shown once, with
// its QR code to scan; the node keeps only its hash, so the list below
// names invites by a short id and can revoke them, never show them again.

var callInvite = rpc.declare({
	object: 'qpc',
	method: 'invite',
	params: [ 'uses', 'expires' ]
});

var callInvites = rpc.declare({
	object: 'qpc',
	method: 'invites'
});

var callRevoke = rpc.declare({
	object: 'qpc',
	method: 'revoke_invite',
	params: [ 'id' ]
});

function date(t) {
	if (!t)
		return _('never');
	return new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function failed(res) {
	if (res && res.error) {
		ui.addNotification(null, E('p', {}, res.error), 'error');
		return true;
	}
	return false;
}

return view.extend({
	load: function() {
		return L.resolveDefault(callInvites(), { error: _('no answer from the rpcd plugin') });
	},

	handleMake: function() {
		var uses = this.usesInput.value.trim(), expires = this.expiresInput.value.trim();
		if (!/^[0-9]{1,6}$/.test(uses) || +uses < 1) {
			ui.addNotification(null, E('p', {}, _('Uses must be a number of at least 1.')), 'error');
			return;
		}
		if (!/^[0-9]{1,6}[smhd]$/.test(expires)) {
			ui.addNotification(null, E('p', {}, _('Expires must be a number and a unit: s, m, h or d (7d).')), 'error');
			return;
		}
		return callInvite(+uses, expires).then(L.bind(function(res) {
			if (failed(res))
				return;
			var out = this.result;
			while (out.firstChild)
				out.removeChild(out.firstChild);
			out.appendChild(E('div', { 'class': 'cbi-section', 'id': 'qpc-new-invite' }, [
				E('h3', {}, _('New invite')),
				E('p', {}, _('Give this code to the new user, or let them scan the QR code. It is shown only now.')),
				E('p', {}, E('code', { 'id': 'qpc-invite-code', 'style': 'font-size:150%' }, res.code)),
				E('p', {}, _('Uses: ') + res.uses + ', ' + _('expires: ') + date(res.expires)),
				// An image, not inline SVG: an <img> runs no script, whatever
				// the SVG holds.
				res.qr_svg ? E('img', {
					'id': 'qpc-invite-qr',
					'alt': _('QR code of the invite'),
					'width': '240',
					'height': '240',
					'style': 'image-rendering:pixelated;background:#fff',
					'src': 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(res.qr_svg)))
				}) : ''
			]));
			return this.refresh();
		}, this));
	},

	handleRevoke: function(id) {
		return callRevoke(id).then(L.bind(function(res) {
			if (!failed(res))
				return this.refresh();
		}, this));
	},

	refresh: function() {
		return L.resolveDefault(callInvites(), null).then(L.bind(function(res) {
			if (!res)
				return;
			var list = this.list;
			while (list.firstChild)
				list.removeChild(list.firstChild);
			list.appendChild(this.renderList(res));
		}, this));
	},

	renderList: function(res) {
		if (res.error)
			return E('div', { 'class': 'alert-message warning', 'id': 'qpc-error' },
				_('The node does not answer: ') + res.error);
		var t = E('table', { 'class': 'table', 'id': 'qpc-invites' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Id')),
				E('th', { 'class': 'th' }, _('Uses left')),
				E('th', { 'class': 'th' }, _('Expires')),
				E('th', { 'class': 'th' }, _('Made')),
				E('th', { 'class': 'th cbi-section-actions' }, '')
			])
		]);
		var invites = res.invites || [];
		if (!invites.length)
			t.appendChild(E('tr', { 'class': 'tr placeholder' }, [
				E('td', { 'class': 'td', 'colspan': 5 }, E('em', {}, _('No open invites.')))
			]));
		invites.forEach(L.bind(function(inv) {
			t.appendChild(E('tr', { 'class': 'tr', 'data-id': inv.id }, [
				E('td', { 'class': 'td' }, E('code', {}, inv.id)),
				E('td', { 'class': 'td' }, String(inv.uses_left)),
				E('td', { 'class': 'td' }, date(inv.expires)),
				E('td', { 'class': 'td' }, date(inv.created)),
				E('td', { 'class': 'td cbi-section-actions' }, E('button', {
					'class': 'cbi-button cbi-button-remove',
					'click': ui.createHandlerFn(this, 'handleRevoke', inv.id)
				}, _('Revoke')))
			]));
		}, this));
		return t;
	},

	render: function(res) {
		this.usesInput = E('input', { 'class': 'cbi-input-text', 'id': 'qpc-uses', 'type': 'text', 'value': '1', 'size': 6 });
		this.expiresInput = E('input', { 'class': 'cbi-input-text', 'id': 'qpc-expires', 'type': 'text', 'value': '7d', 'size': 6 });
		this.result = E('div', { 'id': 'qpc-invite-result' });
		this.list = E('div', {}, this.renderList(res));
		return E('div', {}, [
			E('h2', {}, _('qpc invites')),
			E('div', { 'class': 'cbi-map-descr' },
				_('Who may register on this node is set by the option registration: open, invite or closed. With invite, each new account takes one use of a code made here.')),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', {}, _('Make an invite')),
				E('div', { 'class': 'cbi-value' }, [
					E('label', { 'class': 'cbi-value-title', 'for': 'qpc-uses' }, _('Uses')),
					E('div', { 'class': 'cbi-value-field' }, this.usesInput)
				]),
				E('div', { 'class': 'cbi-value' }, [
					E('label', { 'class': 'cbi-value-title', 'for': 'qpc-expires' }, _('Expires after')),
					E('div', { 'class': 'cbi-value-field' }, this.expiresInput)
				]),
				E('button', {
					'class': 'cbi-button cbi-button-apply',
					'id': 'qpc-invite-make',
					'click': ui.createHandlerFn(this, 'handleMake')
				}, _('Make invite'))
			]),
			this.result,
			E('div', { 'class': 'cbi-section' }, [ E('h3', {}, _('Open invites')), this.list ])
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
