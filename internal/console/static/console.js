// Marina consoles: shared helpers. Plain JavaScript, no build step; pages use window.Marina.
'use strict';
(function () {
  const M = {};

  // h builds an element: h('a', {href: '#/x', class: 'btn', onclick: f}, 'text', child...).
  // Strings become text nodes, never HTML; null, undefined and false children are skipped;
  // arrays are flattened. Attributes: on* are listeners, style is an object, true is present.
  M.h = function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'style') Object.assign(el.style, v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    M.append(el, children);
    return el;
  };

  M.append = function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  };

  // replace swaps el's children for children, keeping the keyboard focus on the element with the
  // same id when there is one after the swap, so live updates do not steal a user's place.
  M.replace = function replace(el, ...children) {
    const active = document.activeElement;
    const focusID = active && el.contains(active) ? active.id : '';
    const caret = focusID && typeof active.selectionStart === 'number' ? [active.selectionStart, active.selectionEnd] : null;
    const scroll = window.scrollY;
    el.replaceChildren();
    M.append(el, children);
    if (focusID) {
      const again = document.getElementById(focusID);
      if (again) {
        again.focus({preventScroll: true});
        if (caret && typeof again.setSelectionRange === 'function') again.setSelectionRange(caret[0], caret[1]);
      }
    }
    window.scrollTo(0, scroll);
  };

  // api calls the same-origin REST API; it resolves to {ok, status, data, headers} for every
  // HTTP answer (data: the decoded JSON, or the text) and rejects only when the call fails.
  M.api = async function api(method, path, body) {
    const init = {method, credentials: 'same-origin', headers: {Accept: 'application/json'}};
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    const text = await resp.text();
    let data = text;
    if ((resp.headers.get('Content-Type') || '').includes('json') && text) {
      try { data = JSON.parse(text); } catch (e) { data = text; }
    }
    return {ok: resp.ok, status: resp.status, data, headers: resp.headers};
  };

  // errorText returns the message of an API answer that failed.
  M.errorText = function errorText(res) {
    const d = res.data;
    if (d && typeof d === 'object' && d.message) return d.message;
    if (typeof d === 'string' && d) return d.slice(0, 300);
    return 'HTTP ' + res.status;
  };

  // stream follows a Server-Sent Events stream of the given event types, calling onEvent(type,
  // data) for each; the browser reconnects after a drop. onState(true|false) reports the link.
  M.stream = function stream(path, types, onEvent, onState) {
    const q = types.map((t) => 'event_type=' + encodeURIComponent(t)).join('&');
    const es = new EventSource(path + (q ? '?' + q : ''), {withCredentials: true});
    es.onopen = () => onState(true);
    es.onerror = () => onState(false);
    for (const t of types) {
      es.addEventListener(t, (ev) => {
        let data = null;
        try { data = JSON.parse(ev.data); } catch (e) { data = null; }
        onEvent(t, data);
      });
    }
    return es;
  };

  // coalesce returns a trigger that runs the async function f once for a burst of calls: after
  // minGap milliseconds, or five times as long as f last took when that is longer, so a heavy
  // page refreshes less often. A call while f runs makes it run again afterwards.
  M.coalesce = function coalesce(f, minGap) {
    let timer = null, again = false, gap = minGap;
    const run = async () => {
      again = false;
      const t0 = performance.now();
      try { await f(); } finally {
        gap = Math.max(minGap, 5 * (performance.now() - t0));
        timer = again ? setTimeout(run, gap) : null;
      }
    };
    return function () {
      again = true;
      if (!timer) timer = setTimeout(run, gap);
    };
  };

  // notify shows a short message in the corner, read out by screen readers.
  M.notify = function notify(text, bad) {
    const box = document.getElementById('notices');
    if (!box) return;
    const n = M.h('div', {class: bad ? 'notice bad' : 'notice'}, text);
    box.append(n);
    setTimeout(() => n.remove(), bad ? 8000 : 4000);
  };

  // setLive shows the state of the event stream in the top bar.
  M.setLive = function setLive(on) {
    const el = document.getElementById('live');
    if (!el) return;
    el.className = 'live ' + (on ? 'on' : 'off');
    el.textContent = on ? 'Live' : 'Reconnecting';
  };

  // confirm asks a yes/no question in a modal dialog; it resolves to true or false.
  M.confirm = function confirm(title, text, okLabel, danger) {
    return new Promise((resolve) => {
      const d = M.h('dialog', {'aria-labelledby': 'confirm-title'},
        M.h('h2', {id: 'confirm-title'}, title), M.h('p', {}, text),
        M.h('form', {method: 'dialog', class: 'actions'},
          M.h('button', {class: 'btn', type: 'button', onclick: () => d.close('cancel')}, 'Cancel'),
          M.h('button', {class: danger ? 'btn danger' : 'btn primary', value: 'ok', id: 'confirm-ok'}, okLabel)));
      d.addEventListener('close', () => { resolve(d.returnValue === 'ok'); d.remove(); });
      document.body.append(d);
      d.showModal();
      d.querySelector('#confirm-ok').focus();
    });
  };

  // mib formats a size in MiB; cpus formats a CPU share.
  M.mib = (v) => (v >= 1024 ? (v / 1024).toFixed(v % 1024 ? 1 : 0) + ' GiB' : (+v || 0) + ' MiB');
  M.cpus = (v) => String(Math.round((+v || 0) * 1000) / 1000);

  // ago formats a timestamp as a time relative to now.
  M.ago = function ago(ts) {
    if (!ts) return '';
    const s = Math.round((Date.now() - Date.parse(ts)) / 1000);
    if (isNaN(s)) return ts;
    if (s < 60) return Math.max(s, 0) + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  };

  window.Marina = M;
})();
