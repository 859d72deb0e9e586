// The frameworks, active and completed.
'use strict';

(() => {
  const C = window.Console;
  const {el} = C;
  const tasksLink = (f, n) => n ? el('a', {href: '/console/tasks?q=' + encodeURIComponent(f.id)}, String(n)) : '0';

  C.poll(async () => {
    const st = await C.masterState();
    C.renderRows(document.getElementById('frameworks'), (st.frameworks || []).map(f => {
      const u = f.used_resources || {};
      const active = (f.tasks || []).length + (f.unreachable_tasks || []).length;
      const done = (f.completed_tasks || []).length;
      return {
        key: f.id, sig: JSON.stringify([f.name, f.role, f.active, f.connected, active, done, u, f.registered_time]),
        cells: [
          f.name || f.id, el('span', {class: 'mono'}, f.id), f.role,
          C.badge(f.active ? 'active' : f.connected ? 'inactive' : 'disconnected'),
          tasksLink(f, active), String(done), C.fmtNum(u.cpus), C.fmtMB(u.mem),
          C.time(f.reregistered_time || f.registered_time),
        ],
      };
    }), 'No framework is subscribed');
    C.renderRows(document.getElementById('completed-frameworks'), (st.completed_frameworks || []).map(f => ({
      key: f.id, sig: JSON.stringify([f.name, (f.completed_tasks || []).length, f.unregistered_time]),
      cells: [f.name || f.id, el('span', {class: 'mono'}, f.id), f.role,
        String((f.completed_tasks || []).length), C.time(f.unregistered_time)],
    })), 'None');
  }, 2000);
})();
