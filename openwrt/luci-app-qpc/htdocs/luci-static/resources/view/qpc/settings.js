'use strict';
'require view';
'require form';

// The settings page: the options of /etc/config/qpc, section 'node', that
// an admin changes from the web. Each value is held to the rule the init
// script and `qpc node --check` hold it to (init.d/qpc), so that a save
// never leaves a node that refuses to start; the options not shown here
// keep their values (a form.Map changes only what it shows).

// dirRule is init.d/qpc's qpc_prepare_dir: an absolute, plain path that
// is /etc/qpc, or below /etc/qpc, /tmp, /mnt, /srv, /overlay or /var.
function dirRule(section_id, value) {
	if (value == null || value === '')
		return true;
	var dir = value.replace(/\/+$/, '');
	if (value.charAt(0) != '/')
		return _('Must be an absolute path.');
	if (/\/\/|\/\.\.?(\/|$)|\n/.test(dir + '/'))
		return _('Must be a plain path (no ".", ".." or "//").');
	if (/[\s*?\[]/.test(dir))
		return _('No white space or wildcards: procd could not mount it into the jail.');
	if (!(dir == '/etc/qpc' || /^\/etc\/qpc\/./.test(dir) || /^\/(tmp|mnt|srv|overlay|var)\/./.test(dir)))
		return _('Must be /etc/qpc or a directory below /etc/qpc, /tmp, /mnt, /srv, /overlay or /var.');
	return true;
}

// listenRule: a UDP address the node can listen on, HOST:PORT with IPv6
// hosts in brackets, port 1 to 65535.
function listenRule(section_id, value) {
	if (value == null || value === '')
		return true;
	var m = /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]*):([0-9]{1,5})$/.exec(value);
	if (!m || +m[2] < 1 || +m[2] > 65535)
		return _('Must be HOST:PORT, an IPv6 host in brackets ([::]:7000).');
	return true;
}

// domainRule is protocol.ValidDomain: lower-case DNS labels of a-z, 0-9
// and '-' (1 to 63, not starting or ending with '-'), at most 253 in all,
// the last not all digits (that reads as an IP address).
function domainRule(section_id, value) {
	if (value == null || value === '')
		return true;
	var labels = value.split('.');
	var ok = value.length <= 253 && labels.every(function(l) {
		return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l);
	}) && !/^[0-9]+$/.test(labels[labels.length - 1]);
	if (!ok)
		return _('Must be a domain in lower case (a-z, 0-9, "-" and "."), such as node1.example.mesh.');
	return true;
}

// durationRule: a Go duration as the node's flags take it (720h, 30s,
// 1h30m).
function durationRule(section_id, value) {
	if (value == null || value === '')
		return true;
	if (!/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(value))
		return _('Must be a duration such as 30s, 45m or 720h.');
	return true;
}

// countRule: a whole number of at least 1.
function countRule(section_id, value) {
	if (value == null || value === '')
		return true;
	if (!/^[0-9]{1,10}$/.test(value) || +value < 1)
		return _('Must be a whole number of at least 1.');
	return true;
}

// peerRule: another node as host:port.
function peerRule(section_id, value) {
	if (value == null || value === '')
		return true;
	if (!/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]+):[0-9]{1,5}$/.test(value))
		return _('Must be host:port of another node.');
	return true;
}

return view.extend({
	render: function() {
		var m, s, o;

		m = new form.Map('qpc', _('qpc node settings'),
			_('Saved to /etc/config/qpc; the node restarts with them. Options not shown here keep their values (edit them with uci).'));

		s = m.section(form.NamedSection, 'node', 'node', _('Node'));
		s.addremove = false;

		o = s.option(form.Flag, 'enabled', _('Enabled'), _('Off keeps the node stopped, at boot too.'));
		o.default = '1';
		o.rmempty = false;

		o = s.option(form.Value, 'domain', _('Domain'),
			_('Users of this node are name@domain. Settle it before people register: their addresses depend on it.'));
		o.placeholder = 'node1.example.mesh';
		o.validate = domainRule;

		o = s.option(form.Value, 'listen', _('Listen address'), _('UDP address for QUIC; one port serves clients and other nodes.'));
		o.placeholder = '[::]:7000';
		o.validate = listenRule;

		o = s.option(form.ListValue, 'registration', _('Registration'),
			_('Who may make an account: anyone, only people with an invite code (see Invites), or no one.'));
		o.value('open', _('open'));
		o.value('invite', _('invite'));
		o.value('closed', _('closed'));
		o.default = 'invite';

		o = s.option(form.Value, 'max_accounts', _('Most accounts'));
		o.placeholder = '1000';
		o.validate = countRule;

		o = s.option(form.Value, 'data_dir', _('Data directory'), _('Node key and certificates; kept on sysupgrade.'));
		o.placeholder = '/etc/qpc';
		o.validate = dirRule;

		o = s.option(form.Value, 'store_dir', _('Store directory'),
			_('The message database; default: the data directory, on flash. Use USB storage, or /tmp (lost at reboot).'));
		o.placeholder = '/mnt/usb/qpc';
		o.validate = dirRule;

		o = s.option(form.Flag, 'mdns', _('mDNS'), _('Announce this node and find others on the local network.'));
		o.rmempty = false;

		o = s.option(form.DynamicList, 'mdns_iface', _('mDNS devices'), _('Linux network devices, as in ip link (br-lan).'));
		o.depends('mdns', '1');

		o = s.option(form.DynamicList, 'peer', _('Federation peers'), _('Other nodes as host:port (needs the federation certificate).'));
		o.validate = peerRule;

		o = s.option(form.Value, 'message_ttl', _('Message lifetime'), _('How long an undelivered message waits.'));
		o.placeholder = '720h';
		o.validate = durationRule;

		o = s.option(form.Value, 'max_connections', _('Most connections'));
		o.placeholder = '64';
		o.validate = countRule;

		o = s.option(form.ListValue, 'log_level', _('Log level'));
		[ 'debug', 'info', 'warn', 'error' ].forEach(function(l) { o.value(l, l); });
		o.default = 'info';

		o = s.option(form.DynamicList, 'firewall_zone', _('Firewall zones'),
			_('Zones whose hosts may reach the node\'s UDP port; add wan or the mesh zone to federate across it.'));

		return m.render();
	}
});
