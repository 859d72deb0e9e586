// Marina services console: the deployments page and a task's sandbox page.
'use strict';
(function () {
  const {h, replace} = Marina;
  const S = window.MarinaServices;
  const {
    api, M, refresh, renderError, appHref, sandboxHref, domID, heading, rollback,
    stopDeployment, progress, main,
  } = S;

  function deploymentsView() {}
  deploymentsView.load = async () => {
    const [res, apps] = await Promise.all([api('GET', '/v2/deployments'), api('GET', '/v2/apps')]);
    if (!res.ok) return {error: M(res)};
    const byID = new Map(((apps.ok && apps.data.apps) || []).map((a) => [a.id, a]));
    return {deployments: res.data, apps: byID};
  };

  deploymentsView.render = (c) => {
    if (c.data.error) return renderError(c);
    document.title = 'Deployments · Marina';
    const rows = c.data.deployments.map((d) => [d, progress(d, c.data.apps)]).map(([d, pr]) => h('tr', {'data-deployment': d.id},
      h('td', {}, d.affectedApps.map((id, i) => [i ? ', ' : '', h('a', {href: appHref(id)}, id)]),
        h('div', {class: 'muted mono'}, d.id)),
      h('td', {title: d.version}, Marina.ago(d.version)),
      h('td', {}, h('progress', {max: d.totalSteps, value: pr.value, 'aria-label': 'Progress of ' + d.id}),
        ' ', 'step ' + d.currentStep + ' of ' + d.totalSteps, pr.text ? h('div', {class: 'muted'}, pr.text) : null),
      h('td', {}, h('ol', {class: 'steps'}, d.steps.map((s, i) => h('li', {class: i + 1 === d.currentStep ? 'current' : ''},
        s.actions.map((a) => a.action + ' ' + (a.app || a.pod || '')).join(', '))))),
      h('td', {class: 'row-actions'},
        h('button', {class: 'btn small', type: 'button', id: domID('rollback', d.id), onclick: () => rollback(d)}, 'Roll back'), ' ',
        h('button', {class: 'btn small danger', type: 'button', id: domID('stop', d.id), onclick: () => stopDeployment(d)}, 'Stop'))));
    if (!rows.length) rows.push(h('tr', {}, h('td', {colspan: 5, class: 'empty'}, 'No deployments in progress.')));
    replace(main, h('div', {class: 'page-head'}, heading('Deployments')),
      h('table', {class: 'grid', id: 'deployments-table'},
        h('caption', {class: 'visually-hidden'}, 'Deployments in progress'),
        h('thead', {}, h('tr', {}, ['Applications', 'Started', 'Progress', 'Steps', 'Actions'].map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, rows)));
  };

  // The sandbox page follows a task's stdout or stderr from its last page on, read through this
  // console's server, which finds the task's agent and asks it through the master.
  const PAGE = 64 * 1024; // the most one read returns
  const KEEP = 2 * 1024 * 1024; // characters kept on the page; older ones are dropped

  function sandboxView() {}
  sandboxView.load = async (c) => {
    const task = c.query.get('task') || '';
    const file = c.query.get('file') === 'stderr' ? 'stderr' : 'stdout';
    const read = (offset) => api('GET', 'api/tasks/' + encodeURIComponent(task) + '/files/' + file + '?offset=' + offset);
    if (c.next === undefined) {
      const size = await read(-1);
      if (!size.ok) return {task, file, error: M(size)};
      c.next = c.skipped = Math.max(0, size.data.next - PAGE);
      c.text = '';
    }
    for (let pages = 0; pages < 16; pages++) { // catch up by up to 1 MiB a second
      const res = await read(c.next);
      if (!res.ok) return {task, file, error: M(res), next: c.next};
      c.text = (c.text + res.data.data).slice(-KEEP);
      const from = c.next;
      c.next = res.data.next;
      if (c.next - from < PAGE) break;
    }
    return {task, file, next: c.next};
  };
  sandboxView.render = (c) => {
    const {task, file} = c.data;
    const appID = c.query.get('app') || '';
    document.title = file + ' of ' + task + ' · Marina';
    if (!c.stop) {
      const timer = setInterval(() => { if (S.current() === c) refresh(); }, 1000);
      c.stop = () => clearInterval(timer);
    }
    const other = file === 'stdout' ? 'stderr' : 'stdout';
    const pre = document.getElementById('sandbox');
    const atEnd = !pre || pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    replace(main,
      h('div', {class: 'page-head'}, heading(file + ' of ' + task),
        h('div', {class: 'actions'},
          h('a', {class: 'btn', href: sandboxHref(appID, task, other)}, 'Show ' + other),
          appID ? h('a', {class: 'btn', href: appHref(appID)}, 'Back to ' + appID) : null)),
      c.data.error ? h('p', {class: 'errors', id: 'sandbox-error'}, c.data.error) : null,
      c.skipped ? h('p', {class: 'muted'}, 'The first ' + c.skipped + ' bytes are not shown; the master console\'s sandbox has the whole file.') : null,
      h('pre', {id: 'sandbox', tabindex: '0', 'aria-label': file + ' of ' + task}, c.text || (c.data.error ? '' : '(empty so far)')));
    // Follow the end unless the reader scrolled up.
    const now = document.getElementById('sandbox');
    if (atEnd) now.scrollTop = now.scrollHeight;
  };

  S.views.deployments = deploymentsView;
  S.views.sandbox = sandboxView;
})();
