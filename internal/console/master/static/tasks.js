// The active and completed tasks, each with links into its sandbox.
'use strict';

(() => {
  const C = window.MasterConsole;
  const h = window.Marina.h;
  const $ = id => document.getElementById(id);
  const maxCompleted = 200; // completed tasks shown, the latest first
  const cols = when => ['Task', 'Framework', 'State', 'Agent', 'CPUs', 'Memory', when, 'Sandbox'];

  C.page('Tasks',
    h('p', {class: 'toolbar'},
      h('label', {for: 'filter'}, 'Filter'),
      h('input', {id: 'filter', type: 'search', placeholder: 'task, framework, agent or state', autocomplete: 'off', value: C.param('q')})),
    C.section('active-h', ['Active tasks ', h('span', {class: 'muted', id: 'active-n'})],
      C.table('active', 'Active tasks', cols('Since'))),
    C.section('completed-h', ['Completed tasks ', h('span', {class: 'muted', id: 'completed-n'})],
      C.table('completed', 'Completed tasks', cols('Ended'))));
  const filter = $('filter');
  let last = null;

  const matches = (t, agents, q) => !q || [t.id, t.name, t.state, t.framework.name, t.framework_id,
    (agents[t.slave_id] || {}).hostname, t.slave_id].some(s => String(s || '').toLowerCase().includes(q));

  function row(t, agents) {
    const a = agents[t.slave_id], r = t.resources || {};
    return {
      key: t.framework_id + '/' + t.id, sig: JSON.stringify([t.state, C.lastStatusTime(t), a && a.hostname]),
      cells: [
        [h('span', {class: 'name'}, t.name || t.id), t.name && t.name !== t.id ? h('span', {class: 'sub'}, t.id) : ''],
        t.framework.name || t.framework_id,
        C.badge(t.state),
        a ? h('a', {href: C.agentURL(a.id)}, C.agentName(a)) : h('span', {class: 'sub'}, t.slave_id),
        C.cpus(r.cpus), C.mb(r.mem),
        C.time(C.lastStatusTime(t)),
        h('span', {class: 'links'},
          h('a', {href: C.sandboxURL(t), 'aria-label': 'Sandbox of ' + t.id}, 'Sandbox'),
          h('a', {href: C.sandboxURL(t, 'stdout'), 'aria-label': 'stdout of ' + t.id}, 'stdout'),
          h('a', {href: C.sandboxURL(t, 'stderr'), 'aria-label': 'stderr of ' + t.id}, 'stderr')),
      ],
    };
  }

  function render() {
    if (!last) return;
    const agents = {};
    for (const a of [...(last.slaves || []), ...(last.recovered_slaves || [])]) agents[a.id] = a;
    const q = filter.value.trim().toLowerCase();
    const {active, completed} = C.tasksOf(last);
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
