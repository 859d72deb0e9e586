// The agents: state, attributes, resources used of total, ports and tasks.
'use strict';

(() => {
  const C = window.MasterConsole;
  const h = window.Marina.h;

  C.page('Agents', C.table('agents', 'Agents',
    ['Agent', 'State', 'Attributes', 'CPUs', 'Memory', 'Disk', 'Ports', 'Tasks', 'Registered']));

  C.poll(async () => {
    const st = await C.masterState();
    const n = C.activeTasksPerAgent(st);
    const rows = [];
    const add = (a, state) => {
      const r = a.resources || {}, u = a.used_resources || {}, name = C.agentName(a);
      rows.push({
        key: a.id, sig: JSON.stringify([state, a.hostname, a.attributes, r, u, n[a.id], a.registered_time, a.reregistered_time]),
        cells: [
          [h('a', {href: C.agentURL(a.id), class: 'name'}, name), h('span', {class: 'sub'}, a.id)],
          C.badge(state),
          C.attributes(a.attributes),
          C.meter('CPUs used on ' + name, u.cpus, r.cpus, C.cpus),
          C.meter('Memory used on ' + name, u.mem, r.mem, C.mb),
          C.meter('Disk used on ' + name, u.disk, r.disk, C.mb),
          h('span', {class: 'mono nowrap'}, r.ports || ''),
          n[a.id] ? h('a', {href: C.tasksURL(a.hostname || a.id)}, String(n[a.id])) : '0',
          C.time(a.reregistered_time || a.registered_time),
        ],
      });
    };
    (st.slaves || []).forEach(a => add(a, a.active ? 'active' : 'inactive'));
    (st.recovered_slaves || []).forEach(a => add(a, 'recovering'));
    C.renderRows(document.getElementById('agents'), rows, 'No agent is registered');
  }, 2000);
})();
