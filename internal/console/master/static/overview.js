// The overview: masters, cluster resources, task counts, agents and frameworks.
'use strict';

(() => {
  const C = window.Console;
  const {el} = C;
  const $ = id => document.getElementById(id);

  async function refreshMasters() {
    const m = await C.getJSON('/master/masters');
    C.renderRows($('masters'), m.masters.map(p => ({
      key: p.url, sig: [p.leader, p.self].join(),
      cells: [C.hostOf(p.url), [C.badge(p.leader ? 'leader' : 'standby'), p.self ? ' (this master)' : '']],
    })), 'No master is campaigning');
    C.renderRows($('etcd'), m.etcd_members.map(e => ({
      key: e.id, sig: [e.name, e.leader, e.learner, e.peer_urls.join(' ')].join(),
      cells: [e.name || e.id, e.peer_urls.join(' '), C.badge(e.leader ? 'leader' : e.learner ? 'learner' : 'follower')],
    })), (m.errors || []).join('; ') || 'No etcd member answered');
  }

  // sums adds up a resource over agents.
  const sum = (agents, field, name) => agents.reduce((s, a) => s + (Number((a[field] || {})[name]) || 0), 0);

  function totals(st) {
    const agents = st.slaves || [];
    const row = (label, name, fmt) => [
      el('dt', {}, label),
      el('dd', {}, C.bar(label + ' used', sum(agents, 'used_resources', name), sum(agents, 'resources', name), fmt)),
    ];
    const dl = $('totals');
    const sig = JSON.stringify(['cpus', 'mem', 'disk'].map(n => [sum(agents, 'used_resources', n), sum(agents, 'resources', n)]));
    if (dl.dataset.sig !== sig) {
      dl.dataset.sig = sig;
      dl.replaceChildren(...row('CPUs', 'cpus', C.fmtNum), ...row('Memory', 'mem', C.fmtMB), ...row('Disk', 'disk', C.fmtMB));
    }

    const {active, completed} = C.tasksOf(st);
    const count = (list, state) => list.filter(t => t.state === state).length;
    const items = [
      ['Agents', agents.length], ['Frameworks', (st.frameworks || []).length],
      ['Running', count(active, 'TASK_RUNNING')], ['Staging', count(active, 'TASK_STAGING') + count(active, 'TASK_STARTING')],
      ['Finished', count(completed, 'TASK_FINISHED')], ['Failed', count(completed, 'TASK_FAILED') + count(completed, 'TASK_ERROR')],
      ['Killed', count(completed, 'TASK_KILLED')], ['Lost', count(completed, 'TASK_LOST') + count(active, 'TASK_UNREACHABLE')],
    ];
    const counts = $('counts');
    const csig = JSON.stringify(items);
    if (counts.dataset.sig !== csig) {
      counts.dataset.sig = csig;
      counts.replaceChildren(...items.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
    }
  }

  function agents(st) {
    const perAgent = {};
    for (const t of C.tasksOf(st).active) perAgent[t.slave_id] = (perAgent[t.slave_id] || 0) + 1;
    C.renderRows($('agents'), (st.slaves || []).map(a => {
      const r = a.resources || {}, u = a.used_resources || {};
      return {
        key: a.id, sig: JSON.stringify([a.hostname, a.attributes, r, u, perAgent[a.id]]),
        cells: [
          [el('a', {href: '/console/agents#' + encodeURIComponent(a.id)}, C.agentName(a)), el('span', {class: 'sub'}, a.id)],
          C.attributes(a.attributes),
          C.bar('CPUs used on ' + C.agentName(a), u.cpus, r.cpus, C.fmtNum),
          C.bar('Memory used on ' + C.agentName(a), u.mem, r.mem, C.fmtMB),
          C.bar('Disk used on ' + C.agentName(a), u.disk, r.disk, C.fmtMB),
          String(perAgent[a.id] || 0),
        ],
      };
    }), 'No agent is registered');
  }

  function frameworks(st) {
    C.renderRows($('frameworks'), (st.frameworks || []).map(f => {
      const u = f.used_resources || {};
      return {
        key: f.id, sig: JSON.stringify([f.name, f.role, f.active, f.connected, (f.tasks || []).length, u]),
        cells: [
          [el('a', {href: '/console/tasks?q=' + encodeURIComponent(f.name || f.id)}, f.name || f.id), el('span', {class: 'sub'}, f.id)],
          f.role, C.badge(f.active ? 'active' : f.connected ? 'inactive' : 'disconnected'),
          String((f.tasks || []).length), C.fmtNum(u.cpus), C.fmtMB(u.mem),
        ],
      };
    }), 'No framework is subscribed');
  }

  C.poll(async () => {
    const st = await C.masterState();
    totals(st);
    agents(st);
    frameworks(st);
  }, 2000);
  C.poll(refreshMasters, 3000);
})();
