// The active and completed tasks, each with links into its sandbox.
'use strict';

(() => {
  const C = window.Console;
  const {el} = C;
  const $ = id => document.getElementById(id);
  // maxCompleted bounds the completed tasks shown, latest first.
  const maxCompleted = 200;

  const filter = $('filter');
  filter.value = C.param('q');
  let last = null;

  const matches = (t, agents, q) => !q || [t.id, t.name, t.state, t.framework.name, t.framework_id,
    (agents[t.slave_id] || {}).hostname, t.slave_id].some(s => String(s || '').toLowerCase().includes(q));

  function row(t, agents) {
    const a = agents[t.slave_id];
    const r = t.resources || {};
    return {
      key: t.framework_id + '/' + t.id, sig: JSON.stringify([t.state, C.lastStatusTime(t), a && a.hostname]),
      cells: [
        [el('span', {class: 'name'}, t.name || t.id), t.name && t.name !== t.id ? el('span', {class: 'sub'}, t.id) : ''],
        t.framework.name || t.framework_id,
        C.badge(t.state),
        a ? el('a', {href: '/console/agents#' + encodeURIComponent(a.id)}, C.agentName(a)) : el('span', {class: 'sub'}, t.slave_id),
        C.fmtNum(r.cpus), C.fmtMB(r.mem),
        C.time(C.lastStatusTime(t)),
        el('span', {class: 'links'},
          el('a', {href: C.sandboxURL(t), 'aria-label': 'Sandbox of ' + t.id}, 'Sandbox'),
          el('a', {href: C.sandboxURL(t, 'stdout'), 'aria-label': 'stdout of ' + t.id}, 'stdout'),
          el('a', {href: C.sandboxURL(t, 'stderr'), 'aria-label': 'stderr of ' + t.id}, 'stderr')),
      ],
    };
  }

  function render() {
    if (!last) return;
    const st = last;
    const agents = {};
    for (const a of [...(st.slaves || []), ...(st.recovered_slaves || [])]) agents[a.id] = a;
    const q = filter.value.trim().toLowerCase();
    const {active, completed} = C.tasksOf(st);
    const act = active.filter(t => matches(t, agents, q)).sort((x, y) => x.id.localeCompare(y.id));
    const done = completed.filter(t => matches(t, agents, q)).sort((x, y) => C.lastStatusTime(y) - C.lastStatusTime(x));
    C.renderRows($('active'), act.map(t => row(t, agents)), q ? 'No active task matches' : 'No active task');
    C.renderRows($('completed'), done.slice(0, maxCompleted).map(t => row(t, agents)), q ? 'No completed task matches' : 'No completed task');
    $('active-n').textContent = '(' + act.length + ')';
    $('completed-n').textContent = done.length > maxCompleted ? '(latest ' + maxCompleted + ' of ' + done.length + ')' : '(' + done.length + ')';
  }

  filter.addEventListener('input', () => {
    const u = new URL(location.href);
    if (filter.value) u.searchParams.set('q', filter.value); else u.searchParams.delete('q');
    history.replaceState(null, '', u);
    render();
  });

  C.poll(async () => {
    last = await C.masterState();
    render();
  }, 2000);
})();
