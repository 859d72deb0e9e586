// The master console's helpers, on top of the shared window.Marina (console.js): polling the
// master's JSON, tables that update in place, meters and the views of /master/state. Every page
// script builds its content in #main with Marina.h, which inserts text, never HTML.
'use strict';

window.MasterConsole = (() => {
  const M = window.Marina;
  const h = M.h;

  // HTTPError is a non-2xx answer, with the server's message.
  class HTTPError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // getJSON GETs a same-origin URL: the browser attaches its session cookie, if any; the
  // console sends no credentials of its own, and none ever goes in a URL.
  async function getJSON(url) {
    const res = await M.api('GET', url);
    if (!res.ok) throw new HTTPError(res.status, M.errorText(res).trim());
    return res.data;
  }

  function describe(e) {
    if (e instanceof HTTPError) {
      if (e.status === 401) return 'Not logged in: reload the page to log in.';
      if (e.status === 404) return 'Not found: ' + e.message + '.';
      return 'Error ' + e.status + ': ' + e.message;
    }
    return 'Cannot reach the master: ' + e.message;
  }

  // showError sets (or, with null, clears) the error of source (a poll, or the page's own) in
  // the page's error line, which is read out when it changes.
  const errors = new Map();
  function showError(text, source = 'page') {
    if (text) errors.set(source, text); else errors.delete(source);
    const box = document.getElementById('error');
    if (!box) return;
    const all = [...errors.values()].join(' ');
    box.hidden = !all;
    if (box.textContent !== all) box.textContent = all;
  }

  // poll runs fn now and then every ms after it completes: less often while the page is hidden,
  // and never more often than every ten times fn took (up to 30 s), so that a large cluster's state, slow to
  // build and send, does not keep its master busy. Failures show in the page's error line and
  // the live indicator; polling goes on.
  let polls = 0;
  function poll(fn, ms) {
    const source = 'poll' + (++polls);
    let timer = 0, running = false;
    const run = async () => {
      if (running) return; // the run under way schedules the next
      running = true;
      clearTimeout(timer);
      const start = performance.now();
      try {
        await fn();
        showError(null, source);
      } catch (e) {
        showError(describe(e), source);
      }
      M.setLive(![...errors.keys()].some(k => k.startsWith('poll')));
      running = false;
      const wait = Math.max(ms, Math.min(30000, 10 * (performance.now() - start)));
      timer = setTimeout(run, document.hidden ? wait * 5 : wait);
    };
    document.addEventListener('visibilitychange', () => { if (!document.hidden) run(); });
    run();
  }

  // masterState fetches /master/state. Should this master have stopped leading, the page
  // moves to the same page on the new leader.
  async function masterState() {
    const st = await getJSON('/master/state');
    if (st.leader && st.leader !== st.pid) {
      const host = st.leader.split('@')[1];
      if (host) location.replace(location.protocol + '//' + host + location.pathname + location.search + location.hash);
    }
    if (!st.leader) throw new Error('no leading master is elected yet');
    return st;
  }

  // page fills #main: a heading, the error line, then the page's content; it marks the
  // current navigation entry.
  function page(title, ...content) {
    document.querySelectorAll('header nav a').forEach(a => {
      if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
    });
    M.replace(document.getElementById('main'),
      h('h1', {}, title), h('p', {id: 'error', class: 'error', role: 'alert', hidden: true}), content);
  }

  // table returns an empty table with the given column headings.
  function table(id, label, cols) {
    return h('table', {id, class: 'grid', 'aria-label': label},
      h('thead', {}, h('tr', {}, cols.map(c => h('th', {scope: 'col'}, c)))), h('tbody'));
  }

  // section returns a titled section.
  function section(id, title, ...content) {
    return h('section', {'aria-labelledby': id}, h('h2', {id}, title), content);
  }

  // renderRows replaces a table's rows ({key, sig, cells}) unless none changed, keeping the
  // keyboard focus on the same link or button of the same row.
  function renderRows(tableEl, rows, empty) {
    const tbody = tableEl.tBodies[0];
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
    const trs = rows.map(r => h('tr', {'data-key': r.key},
      r.cells.map((c, i) => i === 0 ? h('th', {scope: 'row'}, c) : h('td', {}, c))));
    if (trs.length === 0) {
      trs.push(h('tr', {}, h('td', {colspan: tableEl.tHead.rows[0].cells.length, class: 'empty'}, empty || 'None')));
    }
    tbody.replaceChildren(...trs);
    if (focusKey !== null) {
      const tr = [...tbody.rows].find(t => t.dataset.key === focusKey);
      const target = tr && tr.querySelectorAll('a, button')[focusIdx];
      if (target) target.focus({preventScroll: true});
    }
  }

  // replaceIfChanged swaps el's children for build()'s unless sig is the one shown.
  function replaceIfChanged(el, sig, build) {
    if (el.dataset.sig === sig) return;
    el.dataset.sig = sig;
    M.replace(el, build());
  }

  // meter shows used of total as a bar with the figures as text.
  function meter(label, used, total, fmt) {
    used = Number(used) || 0;
    total = Number(total) || 0;
    const pct = total > 0 ? Math.min(100, used / total * 100) : 0;
    const text = fmt(used) + ' / ' + fmt(total);
    return h('div', {class: 'meter', role: 'meter', 'aria-label': label, 'aria-valuemin': 0,
      'aria-valuemax': total, 'aria-valuenow': used, 'aria-valuetext': text},
      h('span', {class: 'track'}, h('span', {class: pct >= 90 ? 'fill high' : 'fill', style: {width: pct.toFixed(1) + '%'}})),
      h('span', {class: 'figs'}, text));
  }

  // badge shows a state: TASK_RUNNING, leader, active...
  const kinds = {
    running: 'ok', finished: 'ok', leader: 'ok', active: 'ok',
    staging: 'info', starting: 'info', standby: 'info', follower: 'info', recovering: 'info',
    killing: 'warn', killed: 'warn', inactive: 'warn', learner: 'warn',
    failed: 'bad', error: 'bad', lost: 'bad', dropped: 'bad', gone: 'bad', unreachable: 'bad', disconnected: 'bad',
  };
  function badge(state) {
    const s = String(state || 'unknown').replace(/^TASK_/, '').toLowerCase();
    return h('span', {class: 'badge ' + (kinds[s] || '')}, s.replace(/_/g, ' '));
  }

  // attributes lists an agent's attributes as chips.
  function attributes(attrs) {
    const keys = Object.keys(attrs || {}).sort();
    if (keys.length === 0) return h('span', {class: 'muted'}, 'none');
    return h('ul', {class: 'chips'}, keys.map(k => h('li', {}, k + ': ' + attrs[k])));
  }

  const cpus = M.cpus;
  const mb = M.mib; // Mesos counts mem and disk in MB
  const bytes = v => {
    v = Number(v) || 0;
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
  };
  // time shows Unix seconds: the time of day today, else the date and time.
  function time(s) {
    if (!s) return '';
    const d = new Date(s * 1000);
    const text = d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
    return h('time', {datetime: d.toISOString()}, text);
  }

  // hostOf returns the host:port of a libprocess pid or a URL.
  const hostOf = s => String(s || '').replace(/^[^@]*@/, '').replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');

  const agentName = a => a ? (a.hostname || a.id) : '';

  // tasksOf flattens the tasks of /master/state: active (unreachable ones included) and
  // completed, each with its framework.
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

  // activeTasksPerAgent counts the active tasks on each agent.
  function activeTasksPerAgent(st) {
    const n = {};
    for (const t of tasksOf(st).active) n[t.slave_id] = (n[t.slave_id] || 0) + 1;
    return n;
  }

  // lastStatusTime returns when a task last changed state, in Unix seconds.
  function lastStatusTime(t) {
    const ss = t.statuses || [];
    return ss.length ? ss[ss.length - 1].timestamp : 0;
  }

  // sandboxURL links to a task's sandbox page, at path inside it ('' for its root).
  function sandboxURL(t, path) {
    const q = new URLSearchParams({agent: t.slave_id, framework: t.framework_id || (t.framework && t.framework.id) || '',
      executor: t.executor_id || '', task: t.id});
    if (path) q.set('path', path);
    return '/console/sandbox?' + q.toString();
  }

  const agentURL = id => '/console/agent?id=' + encodeURIComponent(id);
  const tasksURL = q => '/console/tasks?q=' + encodeURIComponent(q);
  const param = name => new URLSearchParams(location.search).get(name) || '';

  return {HTTPError, getJSON, describe, showError, poll, masterState, page, table, section, renderRows,
    replaceIfChanged, meter, badge, attributes, cpus, mb, bytes, time, hostOf, agentName, tasksOf,
    activeTasksPerAgent, lastStatusTime, sandboxURL, agentURL, tasksURL, param};
})();
