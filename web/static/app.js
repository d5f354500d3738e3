// GIC web pages: live updates and small conveniences. No framework, no outside requests.
// Live: the server pushes `update` events (Server-Sent Events) when new rows reached ClickHouse;
// every element with data-live="<url>" then reloads its HTML fragment from that URL.
(function () {
  'use strict';
  var indicator = document.getElementById('live');
  function setLive(on, text) {
    if (!indicator) return;
    indicator.className = on ? 'on' : 'off';
    indicator.textContent = text;
  }
  var refreshing = false;
  function refresh() {
    if (refreshing) return;
    var nodes = document.querySelectorAll('[data-live]');
    if (!nodes.length) return;
    refreshing = true;
    var jobs = Array.prototype.map.call(nodes, function (el) {
      return fetch(el.getAttribute('data-live'), { credentials: 'same-origin', headers: { 'x-requested-with': 'fetch' } }).then(function (r) {
        if (r.status === 401) { window.location.reload(); return; }
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text().then(function (t) { el.innerHTML = t; el.setAttribute('data-refreshed', String(Date.now())); });
      });
    });
    Promise.all(jobs).then(function () {
      setLive(true, 'live · updated ' + new Date().toISOString().slice(11, 19) + 'Z');
    }, function () {
      setLive(false, 'live · refresh failed');
    }).then(function () { refreshing = false; });
  }
  if (window.EventSource && document.querySelector('[data-live]')) {
    var es = new EventSource('/api/events');
    es.addEventListener('open', function () { setLive(true, 'live'); });
    es.addEventListener('update', refresh);
    es.addEventListener('error', function () { setLive(false, 'live · reconnecting'); });
  }
  document.addEventListener('change', function (e) {
    var t = e.target;
    if (t && t.getAttribute && t.getAttribute('data-autosubmit') !== null && t.form) t.form.submit();
  });
  document.addEventListener('submit', function (e) {
    var f = e.target;
    var msg = f && f.getAttribute && f.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
})();

// Product page: read the product's FITS file in the browser with fitsjs (headers of every HDU), as
// a consumer's browser would, and show what it found.
(function () {
  'use strict';
  var button = document.getElementById('fits-check');
  if (!button) return;
  var out = document.getElementById('fits-check-result');
  button.addEventListener('click', function () {
    if (!window.astro || !window.astro.FITS) { out.textContent = 'fitsjs did not load'; return; }
    out.textContent = 'reading…';
    fetch(button.getAttribute('data-url'), { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.blob();
    }).then(function (blob) {
      new window.astro.FITS(blob, function () {
        var h = this.hdus[0].header;
        var names = this.hdus.slice(1).map(function (x) { return x.header.get('EXTNAME') || '?'; });
        out.textContent = 'fitsjs: ' + this.hdus.length + ' HDUs · BURST_ID ' + h.get('BURST_ID') + ' · PRDM_VER ' + h.get('PRDM_VER') + ' · ' + names.join(', ');
        out.setAttribute('data-hdus', String(this.hdus.length));
      });
    }).catch(function (e) { out.textContent = 'fitsjs could not read it: ' + e.message; });
  });
})();
