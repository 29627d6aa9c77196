// emwin-gateway live page: active alerts by tier, a map of their polygons and
// zones, the latest products and the pipeline's health, kept live over
// Server-Sent Events (/events). Plain JavaScript; the only library is
// topojson-client (vendored, ISC) to read the us-atlas state outlines.
'use strict';
(function () {
  const TIERS = ['emergency', 'warning', 'watch', 'advisory', 'statement', 'routine'];
  const LABEL = {
    emergency: 'Emergency', warning: 'Warning', watch: 'Watch', advisory: 'Advisory',
    statement: 'Statement', routine: 'Routine',
  };
  const COLOR = {
    emergency: '#9b1fb3', warning: '#d62020', watch: '#f07c00', advisory: '#d9b100',
    statement: '#2a72b8', routine: '#7a8290',
  };
  // Map: x = lon * K, y = -lat (equirectangular, scaled for mid-latitudes).
  const K = Math.cos(38 * Math.PI / 180);
  const US_VIEW = { x0: -125.5 * K, y0: -50.5, x1: -65.5 * K, y1: -23.5 };

  const state = {
    active: [], at: null, atUnix: 0, clock: 'now', selected: null, expanded: new Set(),
    products: [], stats: null, view: US_VIEW, basemap: null, lastEvent: 0, connected: false,
    newKeys: new Set(), history: new Map(),
  };

  const $ = (id) => document.getElementById(id);
  // A gateway started with --http-token is opened as /?access_token=...; every API call carries it.
  const TOKEN = new URLSearchParams(location.search).get('access_token');
  function api(url) {
    if (!TOKEN) return url;
    return url + (url.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(TOKEN);
  }
  const SVGNS = 'http://www.w3.org/2000/svg';

  // Builds an element; children are nodes or text (never parsed as HTML).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'style') e.setAttribute('style', v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  async function getJson(url) {
    const r = await fetch(api(url), { cache: 'no-store' });
    if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
    return r.json();
  }

  // ---------------------------------------------------------------- time
  function unix(iso) { return iso ? Date.parse(iso) / 1000 : 0; }
  function hhmm(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return d.toISOString().slice(11, 16) + 'Z';
  }
  function dayHhmm(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return d.toISOString().slice(5, 10).replace('-', '/') + ' ' + d.toISOString().slice(11, 16) + 'Z';
  }
  // "in 23 min" / "12 min ago", relative to the time the alerts were evaluated at.
  function relative(iso) {
    if (!iso || !state.atUnix) return '';
    const d = unix(iso) - state.atUnix;
    const a = Math.abs(d);
    const text = a < 90 ? Math.round(a) + ' s' : a < 5400 ? Math.round(a / 60) + ' min'
      : a < 172800 ? Math.round(a / 3600) + ' h' : Math.round(a / 86400) + ' d';
    return d >= 0 ? 'in ' + text : text + ' ago';
  }
  function untilText(a) {
    if (a.pending && a.begin) return 'from ' + dayHhmm(a.begin);
    if (!a.end) return 'until further notice';
    return 'until ' + hhmm(a.end) + ' (' + relative(a.end) + ')';
  }

  // ---------------------------------------------------------------- header
  function setConn(kind, text) {
    const c = $('conn');
    c.className = 'conn conn-' + kind;
    c.textContent = text;
  }
  function renderClock() {
    if (!state.at) { $('clock').textContent = ''; return; }
    $('clock').textContent = (state.clock === 'feed' ? 'feed time ' : 'as of ') +
      state.at.slice(0, 16).replace('T', ' ') + 'Z';
  }
  function renderTiers() {
    const nav = $('tiers');
    nav.replaceChildren();
    for (const t of TIERS.slice(0, 5)) {
      const n = state.active.filter((a) => a.tier === t).length;
      nav.appendChild(el('a', {
        class: 'chip' + (n ? '' : ' zero'), href: '#tier-' + t, style: 'background:' + COLOR[t],
        'data-tier': t, title: n + ' active ' + LABEL[t].toLowerCase() + (n === 1 ? '' : 's'),
      }, el('b', {}, String(n)), LABEL[t]));
    }
  }

  // ---------------------------------------------------------------- map
  function projectRing(ring) { // [[lat, lon], ...] -> "M x,y L ..."
    let d = '';
    for (let i = 0; i < ring.length; i++) {
      const [lat, lon] = ring[i];
      d += (i ? 'L' : 'M') + (lon * K).toFixed(3) + ',' + (-lat).toFixed(3);
    }
    return d + 'Z';
  }
  function geoPath(geom, close) { // GeoJSON geometry ([lon, lat]) -> path data
    let d = '';
    const line = (coords) => {
      let prev = null;
      coords.forEach(([lon, lat], i) => {
        // Break lines that jump across the antimeridian (the Aleutians).
        const jump = prev !== null && Math.abs(lon - prev) > 180;
        d += (i === 0 || jump ? 'M' : 'L') + (lon * K).toFixed(2) + ',' + (-lat).toFixed(2);
        prev = lon;
      });
      if (close) d += 'Z';
    };
    const polys = geom.type === 'Polygon' ? [geom.coordinates] : geom.type === 'MultiPolygon' ? geom.coordinates : null;
    if (polys) polys.forEach((p) => p.forEach(line));
    else if (geom.type === 'MultiLineString') geom.coordinates.forEach(line);
    else if (geom.type === 'LineString') line(geom.coordinates);
    return d;
  }
  async function loadBasemap() {
    try {
      const topo = await getJson('/vendor/us-atlas/states-10m.json');
      const land = topojson.feature(topo, topo.objects.nation);
      const borders = topojson.mesh(topo, topo.objects.states, (a, b) => a !== b);
      const coast = topojson.mesh(topo, topo.objects.nation);
      const g = svg('g', { id: 'basemap' });
      for (const f of land.features || [land]) g.appendChild(svg('path', { class: 'land', d: geoPath(f.geometry, true) }));
      g.appendChild(svg('path', { class: 'borders', d: geoPath(borders, false) }));
      g.appendChild(svg('path', { class: 'coast', d: geoPath(coast, false) }));
      state.basemap = g;
    } catch (e) {
      $('map-note').textContent = 'state outlines unavailable: ' + e.message;
    }
    renderMap();
  }
  function setView(v) {
    state.view = v;
    const m = $('map');
    m.setAttribute('viewBox', [v.x0, v.y0, v.x1 - v.x0, v.y1 - v.y0].map((n) => n.toFixed(3)).join(' '));
    renderOverlay();
  }
  function boundsOf(alerts) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const add = (lat, lon) => {
      const x = lon * K, y = -lat;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    };
    for (const a of alerts) {
      if (a.polygon && a.polygon.length >= 3) a.polygon.forEach(([lat, lon]) => add(lat, lon));
      else (a.areas || []).forEach((z) => { if (z.lat || z.lon) add(z.lat, z.lon); });
    }
    if (!isFinite(x0)) return null;
    const pad = Math.max(0.6, 0.12 * Math.max(x1 - x0, y1 - y0));
    let v = { x0: x0 - pad, y0: y0 - pad, x1: x1 + pad, y1: y1 + pad };
    const minSpan = 3; // degrees: never zoom in closer than this
    for (const [a, b] of [['x0', 'x1'], ['y0', 'y1']]) {
      const span = v[b] - v[a];
      if (span < minSpan) { const c = (v[a] + v[b]) / 2; v[a] = c - minSpan / 2; v[b] = c + minSpan / 2; }
    }
    return v;
  }
  function fitAlerts(list) {
    const v = boundsOf(list || state.active);
    setView(v || US_VIEW);
  }
  function renderMap() {
    const m = $('map');
    m.replaceChildren();
    if (state.basemap) m.appendChild(state.basemap);
    m.appendChild(svg('g', { id: 'overlay' }));
    setView(state.view);
  }
  function renderOverlay() {
    const g = document.getElementById('overlay');
    if (!g) return;
    g.replaceChildren();
    const v = state.view;
    const r = Math.max(v.x1 - v.x0, 0.5) / 100; // zone points: constant size on screen
    // Least urgent first, so the most urgent are drawn on top.
    const list = [...state.active].sort((a, b) => (b.tier_level || 9) - (a.tier_level || 9));
    let points = 0, polys = 0;
    for (const a of list) {
      const color = COLOR[a.tier] || COLOR.routine;
      const sel = a.key === state.selected;
      const title = svg('title', {});
      title.textContent = a.event_name + ' — ' + (a.office_name || a.office || '') + ' — ' + untilText(a);
      if (a.polygon && a.polygon.length >= 3) {
        const p = svg('path', {
          class: 'alert-shape' + (sel ? ' selected' : ''), d: projectRing(a.polygon),
          fill: color, stroke: color, 'data-alert-id': a.key,
        });
        p.appendChild(title);
        p.addEventListener('click', () => select(a.key, true));
        g.appendChild(p);
        polys++;
      } else {
        for (const z of a.areas || []) {
          if (!z.lat && !z.lon) continue;
          const c = svg('circle', {
            class: 'zone-point' + (sel ? ' selected' : ''), cx: (z.lon * K).toFixed(3), cy: (-z.lat).toFixed(3),
            r: (sel ? r * 1.5 : r).toFixed(4), fill: color, 'data-alert-id': a.key,
          });
          const t = title.cloneNode(true);
          t.textContent = a.event_name + ' — ' + (z.name || z.code) + ' — ' + untilText(a);
          c.appendChild(t);
          c.addEventListener('click', () => select(a.key, true));
          g.appendChild(c);
          points++;
        }
      }
    }
    $('map-note').textContent = state.active.length
      ? polys + ' polygon' + (polys === 1 ? '' : 's') + ', ' + points + ' zone point' + (points === 1 ? '' : 's')
      : 'no active alerts';
  }
  function renderLegend() {
    const l = $('legend');
    l.replaceChildren();
    for (const t of TIERS.slice(0, 5)) l.appendChild(el('span', {}, el('i', { style: 'background:' + COLOR[t] }), LABEL[t]));
    l.appendChild(el('span', {}, 'shapes: warning polygons · dots: county/zone centres of alerts without one'));
  }

  // ---------------------------------------------------------------- alerts
  function areaText(a, max) {
    const names = (a.areas || []).map((z) => z.name ? z.name + (z.state ? ' ' + z.state : '') : z.code);
    const list = names.length ? names : (a.ugc || []);
    if (list.length <= max) return list.join(', ');
    return list.slice(0, max).join(', ') + ' +' + (list.length - max) + ' more';
  }
  function tagsOf(a) {
    const tags = [];
    for (const t of a.emergency_tags || []) tags.push([t, true]);
    const th = a.threats || {};
    const names = {
      tornado: 'Tornado', tornado_damage_threat: 'Tornado damage', thunderstorm_damage_threat: 'Storm damage',
      flash_flood: 'Flash flood', flash_flood_damage_threat: 'Flood damage', hail: 'Hail', wind: 'Wind',
      waterspout: 'Waterspout', snow_squall: 'Snow squall',
    };
    for (const [k, label] of Object.entries(names)) if (th[k]) tags.push([label + ' ' + th[k], /CATASTROPHIC|CONSIDERABLE|OBSERVED/.test(th[k])]);
    if (a.last_action) tags.push([a.last_action, false]);
    if (a.pending) tags.push(['pending', false]);
    // Open-ended, and its product's expiry passed without an update.
    if (a.stale && a.expires) tags.push(['no update since ' + dayHhmm(a.expires), false]);
    return tags;
  }
  function card(a) {
    const color = COLOR[a.tier] || COLOR.routine;
    const sel = a.key === state.selected;
    const c = el('article', {
      class: 'card' + (sel ? ' selected' : '') + (state.newKeys.has(a.key) ? ' new' : ''),
      style: '--c:' + color, 'data-alert-id': a.key, tabindex: '0',
      onclick: (ev) => { if (!ev.target.closest('a')) select(a.key, false, true); },
      onkeydown: (ev) => { if (ev.key === 'Enter') select(a.key, false, true); },
    },
    el('div', { class: 'row1' }, el('span', { class: 'name' }, a.event_name || a.key),
      el('span', { class: 'until' }, untilText(a))),
    el('div', { class: 'where' }, (a.office_name || a.office || '') + (areaText(a, 6) ? ' · ' + areaText(a, 6) : '')),
    a.headline ? el('div', { class: 'headline' }, a.headline) : null,
    el('div', { class: 'tags' }, tagsOf(a).map(([t, hot]) => el('span', { class: 'tag' + (hot ? ' hot' : '') }, t))));
    if (state.expanded.has(a.key)) c.appendChild(details(a));
    return c;
  }
  function details(a) {
    const rows = [
      ['Event', a.key], ['Office', (a.office_name || '') + (a.office ? ' (' + a.office + ')' : '')],
      ['Issued', dayHhmm(a.first_issued) + (a.last_issued && a.last_issued !== a.first_issued ? ' · updated ' + dayHhmm(a.last_issued) : '')],
      ['Begins', a.begin ? dayHhmm(a.begin) : 'now'], ['Ends', a.end ? dayHhmm(a.end) + ' (' + relative(a.end) + ')' : 'until further notice'],
      ['Areas', areaText(a, 200)], ['Product', a.awips_id || ''],
    ];
    const d = el('div', { class: 'details' },
      el('table', {}, el('tbody', {}, rows.filter((r) => r[1]).map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v))))));
    const h = state.history.get(a.key);
    if (h && h.history) {
      d.appendChild(el('ol', { class: 'history' }, h.history.slice(-8).map((x) =>
        el('li', {}, dayHhmm(x.issued) + ' ' + (x.action || 'issued') + ' — ' + (x.awips_id || '') + ' (' + (x.ugc || []).length + ' areas)'))));
    }
    d.appendChild(el('div', { class: 'links' },
      a.file_url ? el('a', { href: api(a.file_url), target: '_blank', rel: 'noopener' }, 'product text') : null,
      el('a', { href: api('/alerts/' + encodeURIComponent(a.key)), target: '_blank', rel: 'noopener' }, 'event JSON')));
    return d;
  }
  function renderAlerts() {
    const box = $('alerts');
    const scroll = box.scrollTop;
    box.replaceChildren();
    $('active-count').textContent = state.active.length + ' in effect';
    if (!state.active.length) {
      box.appendChild(el('p', { class: 'empty', id: 'no-alerts' }, 'No alerts in effect' + (state.at ? ' at ' + hhmm(state.at) : '') + '.'));
    }
    for (const t of TIERS) {
      const list = state.active.filter((a) => a.tier === t);
      if (!list.length) continue;
      box.appendChild(el('section', { class: 'tier-group', id: 'tier-' + t, style: '--c:' + COLOR[t] },
        el('h3', {}, LABEL[t] + ' (' + list.length + ')'), list.map(card)));
    }
    box.scrollTop = scroll;
  }
  async function select(key, fromMap, toggle) {
    state.selected = key;
    if (toggle) {
      if (state.expanded.has(key)) state.expanded.delete(key); else state.expanded.add(key);
    }
    renderAlerts();
    renderOverlay();
    const a = state.active.find((x) => x.key === key);
    if (fromMap) {
      const c = document.querySelector('.card[data-alert-id="' + CSS.escape(key) + '"]');
      if (c) c.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    } else if (a) {
      const v = boundsOf([a]);
      if (v) setView(v);
    }
    if (state.expanded.has(key) && !state.history.has(key)) {
      try {
        state.history.set(key, await getJson('/alerts/' + encodeURIComponent(key)));
        renderAlerts();
      } catch (e) { /* the event may have ended meanwhile */ }
    }
  }

  let refreshTimer = null;
  let firstLoad = true;
  let fitted = false; // the map fits the first alerts that arrive (then the user's view is kept)
  async function refreshActive() {
    refreshTimer = null;
    try {
      const r = await getJson('/alerts/active');
      const before = new Set(state.active.map((a) => a.key));
      state.active = r.alerts || [];
      state.at = r.at; state.atUnix = r.at_unix_s || unix(r.at); state.clock = r.clock || 'now';
      state.newKeys = firstLoad ? new Set() : new Set(state.active.map((a) => a.key).filter((k) => !before.has(k)));
      renderClock(); renderTiers(); renderAlerts(); renderOverlay();
      state.newKeys = new Set(); // flashed once
      if (!fitted && state.active.length) { fitAlerts(); fitted = true; }
      firstLoad = false;
    } catch (e) {
      $('alerts').replaceChildren(el('p', { class: 'empty' }, 'Active alerts unavailable: ' + e.message));
    }
  }
  function scheduleRefresh(ms) { if (!refreshTimer) refreshTimer = setTimeout(refreshActive, ms); }

  // ---------------------------------------------------------------- products
  function humanSize(n) { return n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' kB' : (n / 1048576).toFixed(1) + ' MB'; }
  function renderProducts() {
    const tb = $('products').tBodies[0];
    tb.replaceChildren();
    for (const f of state.products.slice(0, 60)) {
      const t = f.received_unix_us ? new Date(f.received_unix_us / 1000).toISOString().slice(11, 19) + 'Z' : hhmm(f.fd);
      tb.appendChild(el('tr', {},
        el('td', { class: 't' }, t),
        el('td', {}, f.url ? el('a', { href: api(f.url), target: '_blank', rel: 'noopener' }, f.name) : f.name),
        el('td', {}, f.awips_id || ''),
        el('td', { class: 'title' }, f.product_name || (f.is_archive ? 'archive' : '')),
        el('td', { class: 'size' }, humanSize(f.size || 0))));
    }
    $('products-count').textContent = state.products.length ? state.products.length + ' shown' : '';
  }
  function addProduct(f) {
    state.products = [f, ...state.products.filter((x) => x.name !== f.name)].slice(0, 100);
    renderProducts();
  }

  // ---------------------------------------------------------------- health
  const HEADLINE = {
    ingest: ['segments_published', 'bad_frames_total'], assembler: ['files_completed', 'partial_files'],
    'disk-writer': ['files_written', 'write_errors'], 'alert-classifier': ['alerts_published', 'files_in'],
    stats: ['stats_received'], gateway: ['clients', 'deliveries'],
  };
  function renderHealth() {
    const s = state.stats;
    const box = $('health');
    if (!s || !s.services) return;
    box.replaceChildren();
    const stale = new Set(s.stale || []);
    let bad = 0;
    for (const svc of s.services) {
      const name = svc.service + '.' + svc.instance;
      const isStale = stale.has(name);
      const missed = (svc.counters || {}).bus_missed || 0;
      const cls = isStale || svc.state === 'degraded' ? 'bad' : (missed > 0 || svc.state !== 'running') ? 'warn' : '';
      if (cls === 'bad') bad++;
      const kv = [];
      kv.push(['state', isStale ? 'stale' : svc.state]);
      for (const k of HEADLINE[svc.service] || ['bus_received']) {
        const v = (svc.counters || {})[k] ?? (svc.gauges || {})[k];
        if (v === undefined) continue;
        const rate = (s.rates || {})[name + '.' + k + '_per_s'];
        kv.push([k.replace(/_/g, ' '), Math.round(v).toLocaleString() + (rate ? ' (' + rate.toFixed(1) + '/s)' : '')]);
      }
      if (missed) kv.push(['bus missed', missed.toLocaleString()]);
      box.appendChild(el('div', { class: 'svc ' + cls }, el('div', { class: 'n' }, name),
        kv.map(([k, v]) => el('div', { class: 'kv' }, el('span', {}, k), el('b', {}, String(v))))));
    }
    $('health-summary').textContent = s.services.length + ' services' + (bad ? ', ' + bad + ' unhealthy' : ', all reporting');
  }

  // ---------------------------------------------------------------- live
  function connect() {
    const es = new EventSource(api('/events'));
    es.addEventListener('hello', () => { state.connected = true; setConn('ok', 'live'); });
    es.addEventListener('alert', () => { state.lastEvent = Date.now(); scheduleRefresh(600); });
    es.addEventListener('file', (m) => { state.lastEvent = Date.now(); try { addProduct(JSON.parse(m.data)); } catch (e) { /* skip */ } });
    es.addEventListener('stats', (m) => { try { state.stats = JSON.parse(m.data); renderHealth(); } catch (e) { /* skip */ } });
    es.addEventListener('gap', (m) => {
      // Events were missed while away: the active list is re-read whole.
      try { const g = JSON.parse(m.data); setConn('wait', 'resumed, ' + (g.missed ?? 'some') + ' events missed'); } catch (e) { /* skip */ }
      scheduleRefresh(100);
    });
    es.onopen = () => setConn('ok', 'live');
    es.onerror = () => { state.connected = false; setConn('bad', 'reconnecting…'); };
  }
  setInterval(() => {
    if (state.connected && state.lastEvent) {
      const s = Math.round((Date.now() - state.lastEvent) / 1000);
      setConn('ok', 'live · last event ' + (s < 2 ? 'just now' : s + ' s ago'));
    }
  }, 1000);
  setInterval(() => scheduleRefresh(0), 30000); // alerts expire without any event

  // ---------------------------------------------------------------- start
  $('fit').addEventListener('click', () => fitAlerts());
  $('us').addEventListener('click', () => setView(US_VIEW));
  renderLegend();
  renderMap();
  loadBasemap();
  refreshActive();
  getJson('/files?limit=60').then((r) => { state.products = r.files || []; renderProducts(); }).catch(() => {});
  getJson('/stats').then((s) => { if (s) { state.stats = s; renderHealth(); } }).catch(() => {});
  connect();
})();
