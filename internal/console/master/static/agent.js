// One agent: what it is, its resources (total, used, offered), the tasks it runs and ran, and
// the settings it reports itself (its /state, through the master's agent proxy).
'use strict';

(() => {
  const C = window.MasterConsole;
  const h = window.Marina.h;
  const $ = id => document.getElementById(id);
  const id = C.param('id');
  const cols = when => ['Task', 'Framework', 'State', 'CPUs', 'Memory', when, 'Sandbox'];

  C.page(['Agent ', h('span', {id: 'agent-name'}, id || '?')],
    h('div', {class: 'cards'},
      h('section', {class: 'panel card', 'aria-labelledby': 'facts-h'},
        h('h2', {id: 'facts-h'}, 'Agent'), h('dl', {id: 'facts', class: 'facts'})),
      h('section', {class: 'panel card', 'aria-labelledby': 'resources-h'},
        h('h2', {id: 'resources-h'}, 'Resources'),
        C.table('resources', 'Resources', ['Resource', 'Used of total', 'Offered']))),
    C.section('active-h', 'Active tasks', C.table('active', 'Active tasks', cols('Since'))),
    C.section('completed-h', 'Completed tasks', C.table('completed', 'Completed tasks', cols('Ended'))),
    C.section('flags-h', 'Settings the agent reports', h('dl', {id: 'flags', class: 'facts mono'})));

  function facts(a, state) {
    const items = [['ID', h('span', {class: 'mono'}, a.id)], ['State', C.badge(state)],
      ['Address', h('span', {class: 'mono'}, C.hostOf(a.pid))], ['Version', a.version || ''],
      ['Registered', C.time(a.registered_time)], ['Re-registered', C.time(a.reregistered_time)],
      ['Attributes', C.attributes(a.attributes)]];
    C.replaceIfChanged($('facts'), JSON.stringify([a, state]), () =>
      items.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  }

  function resources(a) {
    const r = a.resources || {}, u = a.used_resources || {}, o = a.offered_resources || {};
    const rows = [['cpus', 'CPUs', C.cpus], ['mem', 'Memory', C.mb], ['disk', 'Disk', C.mb], ['gpus', 'GPUs', C.cpus]]
      .filter(([k]) => k !== 'gpus' || Number(r.gpus) > 0)
      .map(([k, label, fmt]) => ({
        key: k, sig: JSON.stringify([r[k], u[k], o[k]]),
        cells: [label, C.meter(label + ' used', u[k], r[k], fmt), fmt(o[k])],
      }));
    if (r.ports) rows.push({key: 'ports', sig: JSON.stringify([r.ports, u.ports, o.ports]),
      cells: ['Ports', h('span', {class: 'mono'}, (u.ports || 'none') + ' of ' + r.ports), h('span', {class: 'mono'}, o.ports || '')]});
    C.renderRows($('resources'), rows);
  }

  function tasks(list, table, empty) {
    C.renderRows(table, list.map(t => {
      const r = t.resources || {};
      return {
        key: t.framework_id + '/' + t.id, sig: JSON.stringify([t.state, C.lastStatusTime(t)]),
        cells: [
          [h('span', {class: 'name'}, t.name || t.id), t.name && t.name !== t.id ? h('span', {class: 'sub'}, t.id) : ''],
          t.framework.name || t.framework_id, C.badge(t.state), C.cpus(r.cpus), C.mb(r.mem), C.time(C.lastStatusTime(t)),
          h('span', {class: 'links'},
            h('a', {href: C.sandboxURL(t), 'aria-label': 'Sandbox of ' + t.id}, 'Sandbox'),
            h('a', {href: C.sandboxURL(t, 'stdout'), 'aria-label': 'stdout of ' + t.id}, 'stdout')),
        ],
      };
    }), empty);
  }

  C.poll(async () => {
    const st = await C.masterState();
    let a = (st.slaves || []).find(s => s.id === id), state = a && (a.active ? 'active' : 'inactive');
    if (!a) {
      a = (st.recovered_slaves || []).find(s => s.id === id);
      state = 'recovering';
    }
    if (!a) throw new C.HTTPError(404, 'agent ' + id + ' is not registered with the leading master');
    $('agent-name').textContent = C.agentName(a);
    document.title = 'Agent ' + C.agentName(a) + ' · Marina master';
    facts(a, state);
    resources(a);
    const {active, completed} = C.tasksOf(st);
    const mine = t => t.slave_id === id;
    tasks(active.filter(mine).sort((x, y) => x.id.localeCompare(y.id)), $('active'), 'No active task');
    tasks(completed.filter(mine).sort((x, y) => C.lastStatusTime(y) - C.lastStatusTime(x)).slice(0, 200), $('completed'), 'No completed task');
  }, 2000);

  // What the agent says about itself changes rarely.
  C.poll(async () => {
    const own = await C.getJSON('/agent/' + encodeURIComponent(id) + '/state');
    const flags = own.flags || {};
    C.replaceIfChanged($('flags'), JSON.stringify(flags), () =>
      Object.keys(flags).sort().map(k => [h('dt', {}, k), h('dd', {}, String(flags[k]))]));
  }, 10000);
})();
