// The overview: the masters, the cluster's resources and task counts, agents and frameworks.
'use strict';

(() => {
  const C = window.MasterConsole;
  const h = window.Marina.h;

  C.page('Cluster overview',
    h('div', {class: 'cards'},
      h('section', {class: 'panel card', 'aria-labelledby': 'masters-h'},
        h('h2', {id: 'masters-h'}, 'Masters'),
        C.table('masters', 'Masters', ['Master', 'Role']),
        h('h3', {}, 'etcd members'),
        C.table('etcd', 'etcd members', ['Member', 'Peer URL', 'Raft'])),
      h('section', {class: 'panel card', 'aria-labelledby': 'resources-h'},
        h('h2', {id: 'resources-h'}, 'Resources'),
        h('dl', {id: 'totals', class: 'totals'}),
        h('h3', {}, 'Counts'),
        h('dl', {id: 'counts', class: 'counts'}))),
    C.section('agents-h', ['Agents ', h('a', {class: 'more', href: '/console/agents'}, 'all agents')],
      C.table('agents', 'Agents', ['Agent', 'Attributes', 'CPUs', 'Memory', 'Disk', 'Tasks'])),
    C.section('frameworks-h', ['Frameworks ', h('a', {class: 'more', href: '/console/frameworks'}, 'all frameworks')],
      C.table('frameworks', 'Frameworks', ['Framework', 'Role', 'State', 'Active tasks', 'CPUs', 'Memory'])));
  const $ = id => document.getElementById(id);

  async function masters() {
    const m = await C.getJSON('/master/masters');
    C.renderRows($('masters'), m.masters.map(p => ({
      key: p.url, sig: [p.leader, p.self].join(),
      cells: [C.hostOf(p.url), [C.badge(p.leader ? 'leader' : 'standby'), p.self ? ' this master' : '']],
    })), 'No master is campaigning');
    C.renderRows($('etcd'), m.etcd_members.map(e => ({
      key: e.id, sig: [e.name, e.leader, e.learner, e.peer_urls.join(' ')].join(),
      cells: [e.name || e.id, h('span', {class: 'mono'}, e.peer_urls.join(' ')),
        C.badge(e.leader ? 'leader' : e.learner ? 'learner' : 'follower')],
    })), (m.errors || []).join('; ') || 'No etcd member answered');
  }

  // sum adds up a resource of the agents.
  const sum = (agents, field, name) => agents.reduce((s, a) => s + (Number((a[field] || {})[name]) || 0), 0);

  function totals(st) {
    const agents = st.slaves || [];
    const res = [['CPUs', 'cpus', C.cpus], ['Memory', 'mem', C.mb], ['Disk', 'disk', C.mb]]
      .map(([label, name, fmt]) => ({label, fmt, used: sum(agents, 'used_resources', name), total: sum(agents, 'resources', name)}));
    C.replaceIfChanged($('totals'), JSON.stringify(res), () => res.flatMap(r => [
      h('dt', {}, r.label), h('dd', {}, C.meter(r.label + ' used in the cluster', r.used, r.total, r.fmt))]));

    const {active, completed} = C.tasksOf(st);
    const count = (list, ...states) => list.filter(t => states.includes(t.state)).length;
    const items = [
      ['Agents', agents.length], ['Frameworks', (st.frameworks || []).length],
      ['Running', count(active, 'TASK_RUNNING')], ['Starting', count(active, 'TASK_STAGING', 'TASK_STARTING')],
      ['Finished', count(completed, 'TASK_FINISHED')], ['Failed', count(completed, 'TASK_FAILED', 'TASK_ERROR')],
      ['Killed', count(completed, 'TASK_KILLED')], ['Lost', count(completed, 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE') + count(active, 'TASK_UNREACHABLE')],
    ];
    C.replaceIfChanged($('counts'), JSON.stringify(items), () =>
      items.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, String(v)))));
  }

  function agents(st) {
    const n = C.activeTasksPerAgent(st);
    C.renderRows($('agents'), (st.slaves || []).map(a => {
      const r = a.resources || {}, u = a.used_resources || {}, name = C.agentName(a);
      return {
        key: a.id, sig: JSON.stringify([a.hostname, a.attributes, r, u, n[a.id]]),
        cells: [
          [h('a', {href: C.agentURL(a.id)}, name), h('span', {class: 'sub'}, a.id)],
          C.attributes(a.attributes),
          C.meter('CPUs used on ' + name, u.cpus, r.cpus, C.cpus),
          C.meter('Memory used on ' + name, u.mem, r.mem, C.mb),
          C.meter('Disk used on ' + name, u.disk, r.disk, C.mb),
          n[a.id] ? h('a', {href: C.tasksURL(a.hostname || a.id)}, String(n[a.id])) : '0',
        ],
      };
    }), 'No agent is registered');
  }

  function frameworks(st) {
    C.renderRows($('frameworks'), (st.frameworks || []).map(f => {
      const u = f.used_resources || {};
      const active = (f.tasks || []).length + (f.unreachable_tasks || []).length;
      return {
        key: f.id, sig: JSON.stringify([f.name, f.role, f.active, f.connected, active, u]),
        cells: [
          [h('a', {href: C.tasksURL(f.id)}, f.name || f.id), h('span', {class: 'sub'}, f.id)],
          f.role, C.badge(f.active ? 'active' : f.connected ? 'inactive' : 'disconnected'),
          String(active), C.cpus(u.cpus), C.mb(u.mem),
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
  C.poll(masters, 3000);
})();
