// The test page's driver: shows the view named by the page's data-view
// attribute with the LuCI stand-in, then does what ?do= asks, in order,
// as a person would (do=click:ID, do=set:ID=VALUE), and marks the body
// data-rendered="done" (or "failed", with the error in #shim-error) for
// the test that reads the DOM.
(function() {
	'use strict';
	var body = document.body;

	function waitEnabled(el, tries) {
		return new Promise(function(resolve) {
			(function poll(n) {
				if (!el.disabled || n <= 0)
					return resolve();
				setTimeout(function() { poll(n - 1); }, 20);
			})(tries);
		});
	}

	function act(step) {
		var m = /^(click|set):([^=]+)(?:=(.*))?$/.exec(step);
		if (!m)
			throw new Error('bad step ' + step);
		var el = document.getElementById(m[2]);
		if (!el)
			throw new Error('no element #' + m[2]);
		if (m[1] == 'set') {
			el.value = m[3] || '';
			el.dispatchEvent(new Event('input', { bubbles: true }));
			el.dispatchEvent(new Event('change', { bubbles: true }));
			return Promise.resolve();
		}
		el.click();
		// The handler disables the button until its promise settles.
		return new Promise(function(r) { setTimeout(r, 0); }).then(function() { return waitEnabled(el, 500); });
	}

	L.runView(body.getAttribute('data-view')).then(function() {
		var steps = new URLSearchParams(location.search).getAll('do');
		return steps.reduce(function(p, s) { return p.then(function() { return act(s); }); }, Promise.resolve());
	}).then(function() {
		body.setAttribute('data-rendered', 'done');
	}, function(err) {
		body.appendChild(E('pre', { 'id': 'shim-error' }, String(err && err.stack || err)));
		body.setAttribute('data-rendered', 'failed');
	});
})();
