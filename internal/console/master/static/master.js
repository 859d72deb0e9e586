// The master console's shared helpers: same-origin JSON requests, polling, DOM building and
// formatting. Every page script builds on window.Console. Data is only ever inserted as text,
// never as HTML.
'use strict';

window.Console = (() => {
  // HTTPError is a non-2xx answer, with the server's message.
  class HTTPError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // getJSON fetches a same-origin URL. The browser attaches its session cookie, if any; the
  // console itself never sends credentials, and none ever goes in a URL.
  async function getJSON(url) {
    const r = await fetch(url, {credentials: 'same-origin', cache: 'no-store', headers: {Accept: 'application/json'}});
    if (!r.ok) {
      const text = (await r.text()).trim();
      throw new HTTPError(r.status, text || r.statusText);
    }
    return r.json();
  }

  // setStatus shows the live state in the header; only a change of text is announced.
  function setStatus(text, error) {
    const s = document.getElementById('status');
    if (!s) return;
    if (s.textContent !== text) s.textContent = text;
    s.classList.toggle('error', !!error);
    s.title = 'updated ' + new Date().toLocaleTimeString();
  }

  // poll runs fn now and then every ms after it completes, more slowly while the page is
  // hidden; an error is shown in the header and the polling goes on.
  function poll(fn, ms) {
    let timer = 0;
    const run = async () => {
      clearTimeout(timer);
      try {
        await fn();
      } catch (e) {
        setStatus(describe(e), true);
      }
      timer = setTimeout(run, document.hidden ? ms * 5 : ms);
    };
    document.addEventListener('visibilitychange', () => { if (!document.hidden) run(); });
    run();
  }

  function describe(e) {
    if (e instanceof HTTPError) {
      if (e.status === 401) return 'Not logged in: reload the page to log in';
      return 'Error ' + e.status + ': ' + e.message;
    }
    return 'Cannot reach the master: ' + e.message;
  }

  // state fetches /master/state; on a standby (after a failover) the page moves to the leader.
  async function masterState() {
    const st = await getJSON('/master/state');
    if (st.leader && st.leader !== st.pid) {
      const host = st.leader.split('@')[1];
      if (host) location.replace(location.protocol + '//' + host + location.pathname + location.search);
    }
    if (!st.leader) setStatus('No leading master is elected yet; retrying', true);
    else setStatus('Live · leader ' + st.leader.replace(/^master@/, ''), false);
    return st;
  }

  // el creates an element: attrs are attributes (class, href, aria-*...), children are nodes
  // or strings (inserted as text).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // renderRows replaces a table's body with rows ({key, sig, cells}) unless nothing changed,
  // keeping the keyboard focus on the same link or button of the same row.
  function renderRows(table, rows, empty) {
    const tbody = table.tBodies[0];
    const sig = JSON.stringify(rows.map(r => [r.key, r.sig]));
    if (tbody.dataset.sig === sig) return;
    tbody.dataset.sig = sig;
    let focusKey = null, focusIdx = -1;
    const active = document.activeElement;
    if (active && tbody.contains(active)) {
      const tr = active.closest('tr');
      focusKey = tr.dataset.key;
      focusIdx = [...tr.querySelectorAll('a, button')].indexOf(active);
    }
    const cols = table.tHead.rows[0].cells.length;
    const trs = rows.map(r => {
      const tr = el('tr', {}, r.cells.map((c, i) => i === 0 && r.header !== false ? el('th', {scope: 'row'}, c) : el('td', {}, c)));
      tr.dataset.key = r.key;
      return tr;
    });
    if (trs.length === 0) trs.push(el('tr', {}, el('td', {colspan: cols, class: 'empty'}, empty || 'None')));
    tbody.replaceChildren(...trs);
    if (focusKey !== null) {
      const tr = [...tbody.rows].find(t => t.dataset.key === focusKey);
      const target = tr && tr.querySelectorAll('a, button')[focusIdx];
      if (target) target.focus();
    }
  }

  // bar is a used/total meter with its figures as text.
  function bar(label, used, total, fmt) {
    const pct = total > 0 ? Math.min(100, used / total * 100) : 0;
    const text = fmt(used) + ' / ' + fmt(total);
    const fill = el('span', {class: 'fill' + (pct >= 90 ? ' high' : '')});
    fill.style.width = pct.toFixed(1) + '%';
    return el('div', {class: 'bar', role: 'meter', 'aria-label': label, 'aria-valuemin': 0,
      'aria-valuemax': total, 'aria-valuenow': used, 'aria-valuetext': text},
      el('span', {class: 'track'}, fill), el('span', {class: 'figs'}, text));
  }

  const fmtNum = v => {
    v = Number(v) || 0;
    return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, '');
  };
  // fmtMB formats megabytes, as Mesos counts mem and disk.
  const fmtMB = v => {
    v = Number(v) || 0;
    if (v >= 1024 * 1024) return fmtNum(v / 1024 / 1024) + ' TB';
    if (v >= 1024) return fmtNum(v / 1024) + ' GB';
    return fmtNum(v) + ' MB';
  };
  const fmtBytes = v => {
    v = Number(v) || 0;
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
  };
  // fmtTime formats Unix seconds: the time today, else the date and time.
  const fmtTime = s => {
    if (!s) return '';
    const d = new Date(s * 1000);
    const same = d.toDateString() === new Date().toDateString();
    return same ? d.toLocaleTimeString() : d.toLocaleString();
  };
  const time = s => s ? el('time', {datetime: new Date(s * 1000).toISOString()}, fmtTime(s)) : '';

  // stateBadge shows a task or agent state.
  function badge(text, kind) {
    return el('span', {class: 'badge ' + (kind || String(text).toLowerCase().replace(/^task_/, ''))},
      String(text).replace(/^TASK_/, '').toLowerCase());
  }

  // attributes lists an agent's attributes as chips.
  function attributes(attrs) {
    const keys = Object.keys(attrs || {}).sort();
    if (keys.length === 0) return el('span', {class: 'sub'}, 'none');
    return el('ul', {class: 'chips'}, keys.map(k => el('li', {}, k + ': ' + attrs[k])));
  }

  // hostOf returns the host:port of a libprocess pid or a URL.
  const hostOf = s => String(s || '').replace(/^[^@]*@/, '').replace(/^[a-z]+:\/\//, '');

  // agentName names an agent of /master/state by its hostname, or its id.
  const agentName = a => a ? (a.hostname || a.id) : '';

  // Tasks of /master/state, flattened: active (with unreachable) and completed ones, each with
  // its framework.
  function tasksOf(st) {
    const active = [], completed = [];
    const add = (f, list, out) => (list || []).forEach(t => out.push(Object.assign({framework: f}, t)));
    for (const f of st.frameworks || []) {
      add(f, f.tasks, active);
      add(f, f.unreachable_tasks, active);
      add(f, f.completed_tasks, completed);
    }
    for (const f of st.completed_frameworks || []) {
      add(f, f.tasks, completed);
      add(f, f.completed_tasks, completed);
    }
    return {active, completed};
  }

  // lastStatusTime returns when a task last changed state, in Unix seconds.
  const lastStatusTime = t => {
    const ss = t.statuses || [];
    return ss.length ? ss[ss.length - 1].timestamp : 0;
  };

  // sandboxURL links to a task's sandbox page, at path inside it ('' for its root).
  function sandboxURL(t, path) {
    const q = new URLSearchParams({agent: t.slave_id, framework: t.framework_id || (t.framework && t.framework.id) || '',
      executor: t.executor_id || '', task: t.id});
    if (path) q.set('path', path);
    return '/console/sandbox?' + q.toString();
  }

  const param = name => new URLSearchParams(location.search).get(name) || '';

  return {HTTPError, getJSON, setStatus, poll, describe, masterState, el, renderRows, bar, badge, attributes,
    fmtNum, fmtMB, fmtBytes, fmtTime, time, hostOf, agentName, tasksOf, lastStatusTime, sandboxURL, param};
})();
