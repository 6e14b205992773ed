/*! journeys.js: Journeys browser SDK, MIT licence */
// One file, no dependencies. It sends Segment-compatible batches with the
// write key in a text/plain body (no CORS preflight), keeps unsent events
// in a localStorage queue that belongs to one page at a time, and hands
// what is left to sendBeacon when the page is hidden or closed.
(() => {
  'use strict';
  const w = window, d = document, nav = navigator, loc = location, hist = history;
  if (w.journeys && w.journeys.VERSION) return;

  const VERSION = '0.1.0';
  const P = 'jny_'; // prefix of every key and cookie the SDK writes
  const src = d.currentScript && d.currentScript.src;
  const defaults = {
    endpoint: src ? new URL(src).origin : '', // where ingest listens
    path: '/v1/batch', // ingest also answers /v1/b; pick one ad blockers ignore
    flushInterval: 3000, // ms an event may wait for companions
    flushAt: 20, // events per request
    maxQueue: 1000, // oldest events beyond this are dropped
    retryMax: 60000, // longest backoff, ms
    lease: 10000, // ms a page's claim on its queue lasts without renewal
    autoPage: true, // page views on load and on History API navigations
    requireConsent: false, // send and store nothing before consent(true)
    respectDNT: false, // treat Do Not Track / Global Privacy Control as opt-out
    cookieDomain: '', // e.g. '.example.com' to share the id across subdomains
    cookieDays: 365,
  };
  const now = Date.now;
  const iso = () => new Date().toISOString();

  let ls = null;
  try {
    ls = w.localStorage;
    ls.setItem(P, P);
    ls.removeItem(P);
  } catch (e) {
    ls = null; // blocked or full: the queue lives in memory only
  }
  const get = k => {
    try { return ls && ls.getItem(P + k); } catch (e) { return null; }
  };
  const set = (k, v) => {
    try { ls && (v == null ? ls.removeItem(P + k) : ls.setItem(P + k, v)); } catch (e) { /* quota */ }
  };

  const uuid = () => {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; // version 4
    b[8] = (b[8] & 63) | 128; // RFC 4122 variant
    const h = Array.from(b, x => (x + 256).toString(16).slice(1)).join('');
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
  };

  const cookie = v => {
    const c = `${P}aid=${v || ''};path=/;samesite=lax;max-age=${v ? cfg.cookieDays * 86400 : 0}` +
      (cfg.cookieDomain ? ';domain=' + cfg.cookieDomain : '') + (loc.protocol == 'https:' ? ';secure' : '');
    d.cookie = c;
  };
  const readCookie = () => (d.cookie.match(/(?:^|; )jny_aid=([^;]+)/) || [])[1];

  let cfg, writeKey, aid, uid, out, grant, dnt, started;
  let me; // this page's id: names its queue and lease in localStorage
  let queue = []; // events not yet acknowledged, oldest first
  let held = []; // events waiting for consent, memory only
  let inflight = new Set(); // messageIds of the request under way
  let beaconed = new Set();
  let timer, due = 0, sending, attempt = 0, backoffUntil = 0;
  let gone; // pagehide has released the queue; set until pageshow
  let paged; // path+search of the last page view
  let ref = d.referrer;

  // allowed: events may be stored and sent; holding: they wait for consent.
  const allowed = () => cfg && !out && !dnt && (grant == '1' || (!cfg.requireConsent && grant != '0'));
  const holding = () => cfg && !out && !dnt && grant == null && cfg.requireConsent;

  // --- the page's own queue and its lease -------------------------------
  const lease = id => (get('l_' + id) || ':0').split(':');
  const save = () => set('q_' + me, queue.length ? JSON.stringify(queue) : null);
  // own renews this page's lease; if another page took the queue over
  // (this one was frozen past its lease), start afresh under a new id so
  // that no event is sent by both.
  const own = () => {
    if (!ls || gone) return;
    if (lease(me)[0] != me) {
      queue = [];
      me = uuid();
    }
    set('l_' + me, me + ':' + (now() + cfg.lease));
  };
  // claim adopts queues of pages that are gone (lease expired or released).
  // localStorage has no compare-and-swap: write the claim, wait, and adopt
  // only if the claim is still ours.
  const claim = () => {
    if (!ls) return;
    for (const k of Object.keys(ls)) {
      const m = k.match(/^jny_([lq])_(.+)/);
      if (!m || m[2] == me || +lease(m[2])[1] > now()) continue;
      const id = m[2];
      if (m[1] == 'l') {
        if (get('q_' + id) == null) set(k.slice(P.length)); // stale lease
        continue;
      }
      set('l_' + id, me + ':' + (now() + cfg.lease));
      setTimeout(() => {
        if (lease(id)[0] != me || !allowed()) return;
        let got = [];
        try { got = JSON.parse(get('q_' + id)) || []; } catch (e) { /* corrupt */ }
        own();
        const seen = new Set(queue.map(e => e.messageId));
        add(got.filter(e => e && !seen.has(e.messageId)));
        set('q_' + id);
        set('l_' + id);
      }, 50 + Math.random() * 100);
    }
  };
  const release = () => {
    if (!ls) return;
    set('l_' + me, queue.length ? me + ':0' : null);
    save();
  };

  // --- sending ----------------------------------------------------------
  const url = () => cfg.endpoint + cfg.path;
  const body = batch => JSON.stringify({ batch, sentAt: iso(), writeKey });
  const bytes = s => new Blob([s]).size;
  // chunks splits events into requests of at most flushAt events and 60 KB,
  // under the 64 KB browsers allow a keepalive request or a beacon.
  const chunks = list => {
    const res = [];
    let cur = [], size = 0;
    for (const e of list) {
      const n = bytes(JSON.stringify(e)) + 1;
      if (cur.length && (cur.length >= cfg.flushAt || size + n > 6e4)) {
        res.push(cur);
        cur = [];
        size = 0;
      }
      cur.push(e);
      size += n;
    }
    cur.length && res.push(cur);
    return res;
  };
  const post = batch => fetch(url(), {
    method: 'POST', body: body(batch), keepalive: true, credentials: 'omit',
    headers: { 'Content-Type': 'text/plain' },
  });
  const drop = batch => {
    const ids = new Set(batch.map(e => e.messageId));
    own();
    queue = queue.filter(e => !ids.has(e.messageId));
    save();
  };
  const add = events => {
    own();
    queue.push(...events);
    if (queue.length > cfg.maxQueue) queue.splice(0, queue.length - cfg.maxQueue);
    save();
    schedule(queue.length >= cfg.flushAt ? 0 : cfg.flushInterval);
  };
  const schedule = ms => {
    ms = Math.max(ms, backoffUntil - now(), 0);
    if (timer && due <= now() + ms) return;
    clearTimeout(timer);
    due = now() + ms;
    timer = setTimeout(() => { timer = 0; send(); }, ms);
  };
  const send = () => {
    if (sending || gone || !queue.length || !allowed()) return Promise.resolve();
    own();
    const batch = chunks(queue)[0];
    sending = 1;
    inflight = new Set(batch.map(e => e.messageId));
    return post(batch).then(r => {
      // 2xx: stored. Other 4xx: will never be stored, drop. 429, 5xx: retry.
      if (r.status != 429 && r.status < 500) return drop(batch), attempt = backoffUntil = 0;
      throw r;
    }).catch(r => {
      attempt++;
      let ms = Math.min(cfg.retryMax, 500 * 2 ** Math.min(attempt, 20));
      ms = ms / 2 + Math.random() * ms / 2; // jitter, so pages do not retry in step
      const ra = r && r.headers && r.headers.get('Retry-After');
      if (ra) ms = Math.max(ms, isNaN(ra) ? Date.parse(ra) - now() : ra * 1000);
      backoffUntil = now() + ms;
    }).then(() => {
      sending = 0;
      inflight = new Set();
      queue.length && schedule(0);
    });
  };
  // hide hands queued events to the browser while the page can still send:
  // sendBeacon, else a keepalive fetch. After failed requests (the endpoint
  // looked down) a beacon is likely to fail as well, so those events stay
  // queued for the next page; their messageIds let the pipeline drop the
  // copy if both arrive.
  const hide = e => {
    // Chrome fires visibilitychange after pagehide: the queue is let go.
    if (gone) return;
    if (allowed() && queue.length) {
      own();
      const keep = attempt > 0;
      for (const b of chunks(queue.filter(x => !inflight.has(x.messageId) && !beaconed.has(x.messageId)))) {
        let ok = false;
        try { ok = nav.sendBeacon(url(), body(b)); } catch (x) { /* unsupported */ }
        if (ok) {
          b.forEach(x => beaconed.add(x.messageId));
          keep || drop(b);
        } else {
          post(b).then(r => r.ok && drop(b), () => {});
        }
      }
    }
    if (e.type == 'pagehide') {
      release();
      gone = 1;
    }
  };

  // --- events -----------------------------------------------------------
  const campaign = () => {
    const c = {};
    new URLSearchParams(loc.search).forEach((v, k) => {
      const m = k.match(/^utm_(source|medium|campaign|term|content)$/);
      if (m) c[m[1] == 'campaign' ? 'name' : m[1]] = v;
    });
    try {
      if (Object.keys(c).length) sessionStorage.setItem(P + 'cmp', JSON.stringify(c));
      else return JSON.parse(sessionStorage.getItem(P + 'cmp'));
    } catch (e) { /* storage blocked */ }
    return c;
  };
  const pageInfo = () => ({ path: loc.pathname, url: loc.href, search: loc.search, title: d.title, referrer: ref });
  const msg = (type, f) => {
    if (!cfg) return;
    const e = Object.assign({
      type, messageId: uuid(), timestamp: iso(), anonymousId: aid,
      context: {
        library: { name: 'journeys.js', version: VERSION },
        page: pageInfo(), userAgent: nav.userAgent, locale: nav.language,
        screen: { width: screen.width, height: screen.height },
      },
    }, uid && { userId: uid }, f);
    const c = campaign();
    if (c && Object.keys(c).length) e.context.campaign = c;
    if (JSON.stringify(e).length > 32e3) return; // ingest refuses events over 32 KB
    if (holding()) held.length < 100 && held.push(e);
    else if (allowed()) add([e]);
  };
  const remember = () => {
    if (!allowed()) return;
    cookie(aid);
    set('aid', aid);
    set('uid', uid);
  };
  const forget = () => {
    queue = [];
    held = [];
    if (ls) {
      save();
      set('l_' + me);
      ['aid', 'uid'].forEach(k => set(k));
    }
    cookie();
    clearTimeout(timer);
    timer = 0;
  };
  const start = () => {
    if (started || !allowed()) return;
    started = 1;
    remember();
    me = uuid();
    own();
    claim();
    setInterval(() => { if (allowed()) { own(); claim(); } }, cfg.lease / 3);
  };

  const api = {
    VERSION,
    init(key, opts) {
      if (cfg) return;
      writeKey = key;
      cfg = Object.assign({}, defaults, opts);
      out = get('out') == '1';
      grant = get('consent');
      dnt = cfg.respectDNT && (nav.doNotTrack == '1' || w.doNotTrack == '1' || !!nav.globalPrivacyControl);
      aid = readCookie() || get('aid') || uuid();
      uid = get('uid');
      start();
      const moved = () => setTimeout(() => cfg.autoPage && paged != key_() && api.page());
      for (const m of ['pushState', 'replaceState']) {
        const orig = hist[m];
        hist[m] = function () {
          const before = key_();
          const r = orig.apply(this, arguments);
          // replaceState rewrites the current entry: not a navigation.
          if (m == 'pushState') moved();
          else if (paged == before) paged = key_();
          return r;
        };
      }
      w.addEventListener('popstate', moved);
      w.addEventListener('pagehide', hide);
      w.addEventListener('pageshow', e => { gone = 0; e.persisted && allowed() && own(); });
      d.addEventListener('visibilitychange', () => d.visibilityState == 'hidden' && hide({}));
      w.addEventListener('online', () => { backoffUntil = 0; queue.length && schedule(0); });
      moved();
    },
    // page records a page view. With autoPage, a path is counted once per
    // navigation, so a page() call of the site's own is not a second view.
    page(name, properties) {
      if (cfg && cfg.autoPage && paged == key_()) return;
      paged = key_();
      msg('page', Object.assign({ properties: Object.assign(pageInfo(), properties) }, name && { name }));
      ref = loc.href;
    },
    track(event, properties) {
      msg('track', { event, properties: properties || {} });
    },
    identify(userId, traits) {
      if (typeof userId == 'object') [traits, userId] = [userId, uid];
      uid = userId || uid;
      remember();
      msg('identify', { traits: traits || {} });
    },
    alias(userId, previousId) {
      msg('alias', { userId, previousId: previousId || uid || aid });
      uid = userId;
      remember();
    },
    reset() {
      uid = null;
      aid = uuid();
      remember();
    },
    consent(yes) {
      grant = yes ? '1' : '0';
      set('consent', grant);
      if (yes) {
        out = false;
        set('out');
        start();
        remember();
        held.length && add(held);
        held = [];
      } else forget();
    },
    optOut() {
      out = true;
      forget();
      set('out', '1');
    },
    // flush sends what is queued now, ignoring any backoff.
    flush() {
      backoffUntil = 0;
      return send().then(() => queue.length && !attempt && !sending ? api.flush() : undefined);
    },
  };
  const key_ = () => loc.pathname + loc.search;

  // Replay calls the loader snippet queued before this file arrived.
  const stub = Array.isArray(w.journeys) ? w.journeys : [];
  w.journeys = api;
  stub.forEach(([m, ...a]) => api[m] && api[m](...a));
})();
