// The agents: state, attributes, resources used of total, and their tasks.
'use strict';

(() => {
  const C = window.Console;
  const {el} = C;

  C.poll(async () => {
    const st = await C.masterState();
    const perAgent = {};
    for (const t of C.tasksOf(st).active) perAgent[t.slave_id] = (perAgent[t.slave_id] || 0) + 1;
    const rows = [];
    const add = (a, state) => {
      const r = a.resources || {}, u = a.used_resources || {};
      const name = C.agentName(a);
      rows.push({
        key: a.id, sig: JSON.stringify([state, a.hostname, a.attributes, r, u, perAgent[a.id], a.registered_time]),
        cells: [
          [el('span', {id: a.id, class: 'name'}, name), el('span', {class: 'sub'}, a.id)],
          C.badge(state),
          C.attributes(a.attributes),
          C.bar('CPUs used on ' + name, u.cpus, r.cpus, C.fmtNum),
          C.bar('Memory used on ' + name, u.mem, r.mem, C.fmtMB),
          C.bar('Disk used on ' + name, u.disk, r.disk, C.fmtMB),
          el('span', {class: 'mono'}, r.ports || ''),
          perAgent[a.id] ? el('a', {href: '/console/tasks?q=' + encodeURIComponent(a.hostname || a.id)}, String(perAgent[a.id])) : '0',
          C.time(a.reregistered_time || a.registered_time),
        ],
      });
    };
    (st.slaves || []).forEach(a => add(a, a.active ? 'active' : 'inactive'));
    (st.recovered_slaves || []).forEach(a => add(a, 'recovering'));
    C.renderRows(document.getElementById('agents'), rows, 'No agent is registered');
    if (location.hash) {
      const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      const tr = target && target.closest('tr');
      if (tr && !tr.classList.contains('target')) {
        tr.classList.add('target');
        tr.scrollIntoView({block: 'center'});
      }
    }
  }, 2000);
})();
