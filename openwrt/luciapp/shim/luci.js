// A small stand-in for LuCI's JavaScript runtime (luci.js, rpc.js, form.js,
// ui.js), for the tests of luci-app-qpc only: it provides what the views of
// luci-app-qpc use, with the same names and calling conventions, so that
// the same view files run here and in LuCI. It loads a view as LuCI does
// (the 'require NAME' lines become the arguments of a function around the
// file), calls its load() and render(), and speaks ubus JSON-RPC to
// /ubus/ as LuCI's rpc.declare does. What it leaves out: translations (_
// returns its argument), sessions and logins, saving a form (the settings
// page is checked for what it shows and refuses), and polling (poll.add
// keeps the function and never calls it, so that a page is rendered once
// and the test's pictures are stable).
(function(window, document) {
	'use strict';

	var sid = '00000000000000000000000000000000';
	var rpcId = 1;

	// E builds an element: E(tag, attributes, children). A function
	// attribute is an event listener; children are nodes, strings (as
	// text), arrays of them, or null.
	function E(tag, attrs, children) {
		var el = document.createElement(tag);
		if (attrs != null && (typeof attrs != 'object' || attrs instanceof Node || Array.isArray(attrs))) {
			children = attrs;
			attrs = null;
		}
		Object.keys(attrs || {}).forEach(function(k) {
			var v = attrs[k];
			if (v == null || v === false)
				return;
			if (typeof v == 'function')
				el.addEventListener(k, v);
			else
				el.setAttribute(k, v === true ? '' : String(v));
		});
		append(el, children);
		return el;
	}

	function append(el, children) {
		if (children == null)
			return;
		if (Array.isArray(children)) {
			children.forEach(function(c) { append(el, c); });
			return;
		}
		el.appendChild(children instanceof Node ? children : document.createTextNode(String(children)));
	}

	// extend makes a class: the new constructor calls __init__, and the
	// prototype holds props over the parent's.
	function extend(props) {
		var parent = this;
		function Class() {
			if (typeof this.__init__ == 'function')
				return this.__init__.apply(this, arguments);
		}
		Class.prototype = Object.create(parent.prototype);
		Object.keys(props || {}).forEach(function(k) { Class.prototype[k] = props[k]; });
		Class.prototype.constructor = Class;
		Class.prototype.super = function(name, args) {
			return parent.prototype[name].apply(this, args || []);
		};
		Class.extend = extend;
		return Class;
	}

	function Base() {}
	Base.extend = extend;

	var L = {
		env: { ubuspath: '/ubus/', resource: '/luci-static/resources' },
		bind: function(fn, ctx) {
			var args = Array.prototype.slice.call(arguments, 2);
			return function() { return fn.apply(ctx, args.concat(Array.prototype.slice.call(arguments))); };
		},
		resolveDefault: function(p, def) {
			return Promise.resolve(p).catch(function() { return def; });
		},
		isObject: function(v) { return v != null && typeof v == 'object'; },
		toArray: function(v) { return v == null ? [] : Array.isArray(v) ? v : [ v ]; },
		Class: Base
	};

	// rpc: ubus over JSON-RPC, as LuCI's rpc.js posts it.
	var rpc = {
		declare: function(opts) {
			return function() {
				var args = {}, given = arguments;
				(opts.params || []).forEach(function(p, i) {
					if (i < given.length && given[i] !== undefined)
						args[p] = given[i];
				});
				return rpc.call(opts.object, opts.method, args).then(function(res) {
					if (opts.expect) {
						var key = Object.keys(opts.expect)[0];
						if (key !== '')
							res = (res && res[key] !== undefined) ? res[key] : opts.expect[key];
					}
					return res;
				});
			};
		},
		call: function(object, method, args) {
			return fetch(L.env.ubuspath, {
				method: 'POST',
				headers: { 'Content-Type': 'application/json' },
				body: JSON.stringify({ jsonrpc: '2.0', id: rpcId++, method: 'call', params: [ sid, object, method, args ] })
			}).then(function(r) { return r.json(); }).then(function(reply) {
				if (reply.error)
					throw new Error('RPC error: ' + reply.error.message);
				if (!Array.isArray(reply.result) || reply.result[0] !== 0)
					throw new Error('ubus status ' + (reply.result && reply.result[0]));
				return reply.result[1];
			});
		}
	};

	// uci: the configuration a form.Map reads, from ubus uci get.
	var uci = {
		state: {},
		load: function(config) {
			return rpc.call('uci', 'get', { config: config }).then(function(res) {
				uci.state[config] = (res && res.values) || {};
			});
		},
		get: function(config, section, option) {
			var s = (uci.state[config] || {})[section];
			return s ? s[option] : undefined;
		}
	};

	// ui: notifications, modal dialogs and button handlers.
	var ui = {
		addNotification: function(title, children, cls) {
			var view = document.getElementById('view');
			var n = E('div', { 'class': 'alert-message ' + (cls || '') }, [ title ? E('h4', {}, title) : null, children ]);
			view.parentNode.insertBefore(n, view);
			return n;
		},
		showModal: function(title, children) {
			ui.hideModal();
			var m = E('div', { 'id': 'modal_overlay' }, E('div', { 'class': 'modal' }, [ E('h4', {}, title), children ]));
			document.body.appendChild(m);
			return m;
		},
		hideModal: function() {
			var m = document.getElementById('modal_overlay');
			if (m)
				m.parentNode.removeChild(m);
		},
		// createHandlerFn returns a click handler that calls fn (a
		// function or the name of a method of ctx) with args and the
		// event, the button disabled until its promise settles.
		createHandlerFn: function(ctx, fn) {
			var args = Array.prototype.slice.call(arguments, 2);
			return function(ev) {
				var f = typeof fn == 'string' ? ctx[fn] : fn, btn = ev.currentTarget;
				btn.disabled = true;
				return Promise.resolve(f.apply(ctx, args.concat([ ev ]))).finally(function() { btn.disabled = false; });
			};
		}
	};

	var poll = {
		fns: [],
		add: function(fn) { poll.fns.push(fn); }
	};

	// view: the base of every page.
	var view = Base.extend({
		__init__: function() {
			var vp = document.getElementById('view');
			this.ready = Promise.resolve(this.load()).then(L.bind(this.render, this)).then(function(nodes) {
				while (vp.firstChild)
					vp.removeChild(vp.firstChild);
				append(vp, nodes);
			});
		},
		load: function() {},
		render: function() {}
	});

	// form: Map, NamedSection and the option widgets a settings page uses,
	// rendered in LuCI's cbi markup; each option checks its value with its
	// validate function on input and shows the refusal under the field.
	var AbstractValue = Base.extend({
		__init__: function(map, section, option, title, description) {
			this.map = map;
			this.section = section;
			this.option = option;
			this.title = title;
			this.description = description;
			this.deps = [];
			this.choices = [];
		},
		depends: function(field, value) { this.deps.push([ field, value ]); },
		value: function(key, label) { this.choices.push([ key, label == null ? key : label ]); },
		cfgvalue: function() {
			var v = uci.get(this.map.config, this.section.name, this.option);
			return v === undefined ? this.default : v;
		},
		id: function() { return 'widget.cbid.' + this.map.config + '.' + this.section.name + '.' + this.option; },
		check: function(value) {
			return typeof this.validate == 'function' ? this.validate(this.section.name, value) : true;
		},
		renderWidget: function() {
			var v = this.cfgvalue();
			return E('input', { 'class': 'cbi-input-text', 'type': 'text', 'id': this.id(), 'value': v == null ? '' : v, 'placeholder': this.placeholder });
		},
		render: function() {
			var self = this, err = E('div', { 'class': 'cbi-value-error' });
			var widget = this.renderWidget();
			var field = E('div', { 'class': 'cbi-value-field' }, [ widget, err,
				this.description ? E('div', { 'class': 'cbi-value-description' }, this.description) : null ]);
			var row = E('div', { 'class': 'cbi-value', 'id': 'cbi-' + this.map.config + '-' + this.section.name + '-' + this.option, 'data-name': this.option }, [
				E('label', { 'class': 'cbi-value-title', 'for': this.id() }, this.title), field ]);
			var update = function() {
				var vals = self.values(widget), res = true;
				for (var i = 0; i < vals.length && res === true; i++)
					res = self.check(vals[i]);
				widget.classList.toggle('cbi-input-invalid', res !== true);
				err.textContent = res === true ? '' : res;
			};
			widget.addEventListener('input', update);
			widget.addEventListener('change', update);
			update();
			return row;
		},
		values: function(widget) { return [ widget.value ]; }
	});

	var form = {
		Value: AbstractValue.extend({}),
		Flag: AbstractValue.extend({
			renderWidget: function() {
				return E('input', { 'type': 'checkbox', 'class': 'cbi-input-checkbox', 'id': this.id(), 'checked': this.cfgvalue() == '1' });
			},
			values: function() { return []; }
		}),
		ListValue: AbstractValue.extend({
			renderWidget: function() {
				var v = this.cfgvalue();
				return E('select', { 'class': 'cbi-input-select', 'id': this.id() }, this.choices.map(function(c) {
					return E('option', { 'value': c[0], 'selected': c[0] == v }, c[1]);
				}));
			}
		}),
		DynamicList: AbstractValue.extend({
			renderWidget: function() {
				var v = L.toArray(this.cfgvalue()), self = this;
				return E('div', { 'class': 'cbi-dynlist', 'id': this.id() }, v.map(function(item, i) {
					return E('div', { 'class': 'item' }, E('input', { 'type': 'text', 'class': 'cbi-input-text', 'id': self.id() + '.' + i, 'value': item }));
				}).concat([ E('input', { 'type': 'text', 'class': 'cbi-input-text', 'id': this.id() + '.new', 'placeholder': this.placeholder }) ]));
			},
			values: function(widget) {
				return Array.prototype.map.call(widget.querySelectorAll('input'), function(i) { return i.value; })
					.filter(function(s) { return s !== ''; });
			}
		}),
		NamedSection: Base.extend({
			__init__: function(map, name, type, title) {
				this.map = map;
				this.name = name;
				this.type = type;
				this.title = title;
				this.children = [];
			},
			option: function(Kind, option, title, description) {
				var o = new Kind(this.map, this, option, title, description);
				this.children.push(o);
				return o;
			},
			render: function() {
				var rows = this.children.map(function(o) { return o.render(); });
				var sec = E('fieldset', { 'class': 'cbi-section', 'id': 'cbi-' + this.map.config + '-' + this.name }, [
					this.title ? E('legend', {}, this.title) : null,
					E('div', { 'class': 'cbi-section-node' }, rows) ]);
				// An option with depends shows only while a field it
				// depends on has the value.
				this.children.forEach(function(o) {
					if (!o.deps.length)
						return;
					var row = rows[this.children.indexOf(o)];
					var show = function() {
						row.style.display = o.deps.some(function(d) {
							var w = sec.querySelector('[id="widget.cbid.' + o.map.config + '.' + o.section.name + '.' + d[0] + '"]');
							return w && (w.type == 'checkbox' ? (w.checked ? '1' : '0') : w.value) == d[1];
						}) ? '' : 'none';
					};
					sec.addEventListener('change', show);
					show();
				}, this);
				return sec;
			}
		}),
		Map: Base.extend({
			__init__: function(config, title, description) {
				this.config = config;
				this.title = title;
				this.description = description;
				this.sections = [];
			},
			section: function(Kind) {
				var s = new Kind(this, arguments[1], arguments[2], arguments[3]);
				this.sections.push(s);
				return s;
			},
			render: function() {
				return uci.load(this.config).then(L.bind(function() {
					return E('div', { 'class': 'cbi-map', 'id': 'cbi-' + this.config }, [
						this.title ? E('h2', {}, this.title) : null,
						this.description ? E('div', { 'class': 'cbi-map-descr' }, this.description) : null,
						this.sections.map(function(s) { return s.render(); }) ]);
				}, this));
			}
		})
	};

	var modules = { baseclass: Base, view: view, rpc: rpc, form: form, ui: ui, poll: poll, uci: uci };

	// runView loads view/NAME.js as LuCI's L.require does and shows it in
	// #view; it resolves when the page is rendered.
	L.runView = function(name) {
		var url = L.env.resource + '/view/' + name + '.js';
		return fetch(url).then(function(r) {
			if (!r.ok)
				throw new Error(url + ': HTTP ' + r.status);
			return r.text();
		}).then(function(src) {
			var names = [], deps = [], re = /^'require[ \t]+(\S+)(?:[ \t]+as[ \t]+(\S+))?';$/;
			src.split(/\n/).some(function(line) {
				line = line.trim();
				if (line === '' || line == "'use strict';" || /^\/\//.test(line))
					return false;
				var m = re.exec(line);
				if (!m)
					return true;
				if (!(m[1] in modules))
					throw new Error(url + ': the shim has no module ' + m[1]);
				names.push(m[2] || m[1].replace(/^.*\./, ''));
				deps.push(modules[m[1]]);
				return false;
			});
			var Factory = new Function(names.join(','), src + '\n//# sourceURL=' + url);
			var View = Factory.apply(window, deps);
			return new View().ready;
		});
	};

	window.E = E;
	window._ = function(s) { return s; };
	window.L = L;
})(window, document);
