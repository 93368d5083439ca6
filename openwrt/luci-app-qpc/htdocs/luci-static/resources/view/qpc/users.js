'use strict';
'require view';
'require rpc';
'require ui';

// The users page: the node's accounts, with the admin's two actions on
// them. Delete removes the account and its mailbox; reset makes the user
// register again with a new password (their contacts see a key change).

var callUsers = rpc.declare({
	object: 'qpc',
	method: 'users'
});

var callDelete = rpc.declare({
	object: 'qpc',
	method: 'user_delete',
	params: [ 'name' ]
});

var callReset = rpc.declare({
	object: 'qpc',
	method: 'user_reset',
	params: [ 'name' ]
});

function date(t) {
	if (!t)
		return _('never');
	return new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

return view.extend({
	load: function() {
		return L.resolveDefault(callUsers(), { error: _('no answer from the rpcd plugin') });
	},

	// handleAction asks first: both actions cannot be undone.
	handleAction: function(action, name) {
		var call = action == 'delete' ? callDelete : callReset;
		var text = action == 'delete' ?
			_('Delete the account ') + name + _(' and its mailbox? This cannot be undone.') :
			_('Reset ') + name + _('? They must register again; their contacts will see a new key.');
		ui.showModal(_('Are you sure?'), [
			E('p', {}, text),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, _('Cancel')),
				' ',
				E('button', {
					'class': 'cbi-button cbi-button-negative',
					'id': 'qpc-confirm',
					'click': ui.createHandlerFn(this, function() {
						return call(name).then(L.bind(function(res) {
							ui.hideModal();
							if (res && res.error)
								ui.addNotification(null, E('p', {}, res.error), 'error');
							return this.refresh();
						}, this));
					})
				}, action == 'delete' ? _('Delete') : _('Reset'))
			])
		]);
	},

	refresh: function() {
		return L.resolveDefault(callUsers(), null).then(L.bind(function(res) {
			if (!res)
				return;
			while (this.body.firstChild)
				this.body.removeChild(this.body.firstChild);
			this.body.appendChild(this.renderTable(res));
		}, this));
	},

	renderTable: function(res) {
		if (res.error)
			return E('div', { 'class': 'alert-message warning', 'id': 'qpc-error' },
				_('The node does not answer: ') + res.error);
		var t = E('table', { 'class': 'table', 'id': 'qpc-users' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Name')),
				E('th', { 'class': 'th' }, _('Devices')),
				E('th', { 'class': 'th' }, _('Last seen')),
				E('th', { 'class': 'th' }, _('Mailbox')),
				E('th', { 'class': 'th cbi-section-actions' }, '')
			])
		]);
		var users = res.users || [];
		if (!users.length)
			t.appendChild(E('tr', { 'class': 'tr placeholder' }, [
				E('td', { 'class': 'td', 'colspan': 5 }, E('em', {}, _('No accounts yet.')))
			]));
		users.forEach(L.bind(function(u) {
			t.appendChild(E('tr', { 'class': 'tr', 'data-name': u.name }, [
				E('td', { 'class': 'td' }, E('strong', {}, u.name)),
				E('td', { 'class': 'td' }, String(u.devices)),
				E('td', { 'class': 'td' }, date(u.last_seen)),
				E('td', { 'class': 'td' }, u.mailbox_messages + ' ' + _('messages') + ', ' + u.mailbox_bytes + ' B'),
				E('td', { 'class': 'td cbi-section-actions' }, [
					E('button', {
						'class': 'cbi-button cbi-button-action',
						'id': 'qpc-reset-' + u.name,
						'click': ui.createHandlerFn(this, 'handleAction', 'reset', u.name)
					}, _('Reset')),
					' ',
					E('button', {
						'class': 'cbi-button cbi-button-remove',
						'id': 'qpc-delete-' + u.name,
						'click': ui.createHandlerFn(this, 'handleAction', 'delete', u.name)
					}, _('Delete'))
				])
			]));
		}, this));
		return t;
	},

	render: function(res) {
		this.body = E('div', {}, this.renderTable(res));
		return E('div', {}, [
			E('h2', {}, _('qpc users')),
			E('div', { 'class': 'cbi-map-descr' },
				_('The accounts of this node. Names are what the node knows of its users; what they write it never sees.')),
			E('div', { 'class': 'cbi-section' }, this.body)
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
