// The frameworks, subscribed and completed.
'use strict';

(() => {
  const C = window.MasterConsole;
  const h = window.Marina.h;

  C.page('Frameworks',
    C.table('frameworks', 'Frameworks',
      ['Framework', 'ID', 'Role', 'State', 'Active tasks', 'Completed tasks', 'CPUs', 'Memory', 'Registered']),
    C.section('completed-h', 'Completed frameworks',
      C.table('completed-frameworks', 'Completed frameworks', ['Framework', 'ID', 'Role', 'Completed tasks', 'Removed'])));
  const tasks = (f, n) => n ? h('a', {href: C.tasksURL(f.id)}, String(n)) : '0';

  C.poll(async () => {
    const st = await C.masterState();
    C.renderRows(document.getElementById('frameworks'), (st.frameworks || []).map(f => {
      const u = f.used_resources || {};
      const active = (f.tasks || []).length + (f.unreachable_tasks || []).length;
      const done = (f.completed_tasks || []).length;
      return {
        key: f.id, sig: JSON.stringify([f.name, f.role, f.active, f.connected, active, done, u, f.registered_time]),
        cells: [
          f.name || f.id, h('span', {class: 'mono'}, f.id), f.role,
          C.badge(f.active ? 'active' : f.connected ? 'inactive' : 'disconnected'),
          tasks(f, active), tasks(f, done), C.cpus(u.cpus), C.mb(u.mem),
          C.time(f.reregistered_time || f.registered_time),
        ],
      };
    }), 'No framework is subscribed');
    C.renderRows(document.getElementById('completed-frameworks'), (st.completed_frameworks || []).map(f => ({
      key: f.id, sig: JSON.stringify([f.name, (f.completed_tasks || []).length, f.unregistered_time]),
      cells: [f.name || f.id, h('span', {class: 'mono'}, f.id), f.role,
        tasks(f, (f.completed_tasks || []).length), C.time(f.unregistered_time)],
    })), 'None');
  }, 2000);
})();
