// Marina services console: one app's page, with its instances, configuration and versions, and
// the changes made from it.
'use strict';
(function () {
  const {h, replace, notify} = Marina;
  const S = window.MarinaServices;
  const {
    api, M, act, renderError, enc, appHref, folderHref, sandboxHref, parentOf, domID,
    stripped, status, plural, badge, crumbs, heading, rollback, progress, main,
  } = S;

  function appView() {}
  appView.load = async (c) => {
    const id = c.rest;
    const tab = c.query.get('tab') || 'tasks';
    const calls = [api('GET', '/v2/apps' + enc(id)), api('GET', '/v2/deployments')];
    if (tab === 'versions') calls.push(api('GET', '/v2/apps' + enc(id) + '/versions'));
    const [app, deps, versions] = await Promise.all(calls);
    if (!app.ok) return {error: M(app)};
    return {app: app.data.app, deployments: (deps.ok ? deps.data : []).filter((d) => d.affectedApps.includes(id)),
      versions: versions && versions.ok ? versions.data.versions : null};
  };
  appView.render = (c) => {
    if (c.data.error) return renderError(c);
    const app = c.data.app;
    const tab = c.query.get('tab') || 'tasks';
    document.title = app.id + ' · Marina';
    const [st, cls] = status(app);
    const tabLink = (key, label) => h('a', {href: appHref(app.id, key === 'tasks' ? '' : key), id: 'tab-' + key,
      'aria-current': tab === key ? 'page' : null}, label);
    let body;
    if (tab === 'config') body = configTab(app);
    else if (tab === 'versions') body = versionsTab(c, app);
    else body = tasksTab(c, app);
    replace(main,
      crumbs(app.id, true),
      h('div', {class: 'page-head'}, heading(app.id), badge(st, cls),
        h('span', {class: 'muted'}, (app.tasksRunning || 0) + ' of ' + app.instances + ' running'),
        h('div', {class: 'actions'},
          h('button', {class: 'btn', id: 'scale', type: 'button', onclick: () => scaleDialog(app)}, 'Scale'),
          h('button', {class: 'btn', id: 'restart', type: 'button', onclick: () => restart(app)}, 'Restart'),
          app.instances > 0 ? h('button', {class: 'btn', id: 'suspend', type: 'button', onclick: () => suspend(app)}, 'Suspend') : null,
          h('a', {class: 'btn', id: 'edit', href: '#/edit' + enc(app.id)}, 'Edit'),
          h('button', {class: 'btn danger', id: 'destroy', type: 'button', onclick: () => destroy(app)}, 'Destroy'))),
      c.data.deployments.map((d) => deploymentPanel(d, app)),
      app.lastTaskFailure ? h('p', {class: 'errors', id: 'last-failure'}, 'Last task failure ' + Marina.ago(app.lastTaskFailure.timestamp) +
        ': ' + app.lastTaskFailure.state + ' ' + (app.lastTaskFailure.message || '')) : null,
      h('nav', {class: 'tabs', 'aria-label': 'Application'}, tabLink('tasks', 'Instances'),
        tabLink('config', 'Configuration'), tabLink('versions', 'Versions')),
      body);
  };

  function deploymentPanel(d, app) {
    const pr = progress(d, new Map([[app.id, app]]));
    return h('div', {class: 'panel toolbar deployment', 'data-deployment': d.id},
      badge('Deploying', 'info'),
      h('span', {}, 'Step ' + d.currentStep + ' of ' + d.totalSteps + ': ',
        d.currentActions.map((a) => a.action).join(', ')),
      h('progress', {max: d.totalSteps, value: pr.value, 'aria-label': 'Deployment progress'}),
      h('span', {class: 'muted'}, pr.text),
      h('button', {class: 'btn small', type: 'button', id: domID('rollback', d.id), onclick: () => rollback(d)}, 'Roll back'),
      h('a', {href: '#/deployments'}, 'All deployments'));
  }

  function tasksTab(c, app) {
    const tasks = (app.tasks || []).slice().sort((a, b) => a.id.localeCompare(b.id));
    if (!c.selected) c.selected = new Set();
    for (const id of [...c.selected]) if (!tasks.some((t) => t.id === id)) c.selected.delete(id);
    const none = c.selected.size === 0;
    const killSelected = (scale) => act(scale ? 'Kill and scale' : 'Kill', 'POST', '/v2/tasks/delete' + (scale ? '?scale=true' : ''),
      {ids: [...c.selected]}).then((r) => { if (r) c.selected.clear(); });
    const rows = tasks.map((t) => {
      const health = t.healthCheckResults && t.healthCheckResults.length
        ? (t.healthCheckResults.every((r) => r.alive) ? badge('Healthy', 'ok') : badge('Unhealthy', 'bad'))
        : h('span', {class: 'muted'}, 'no check');
      const state = t.state.replace(/^TASK_/, '');
      const stCls = state === 'RUNNING' ? 'ok' : ['STAGING', 'STARTING'].includes(state) ? 'info' : 'warn';
      const kill = (scale) => act(scale ? 'Kill and scale' : 'Kill', 'DELETE',
        '/v2/apps' + enc(app.id) + '/tasks/' + encodeURIComponent(t.id) + (scale ? '?scale=true' : ''));
      return h('tr', {'data-task': t.id},
        h('td', {}, h('input', {type: 'checkbox', id: domID('select', t.id), checked: c.selected.has(t.id),
          'aria-label': 'Select ' + t.id, onchange: (e) => {
            if (e.target.checked) c.selected.add(t.id); else c.selected.delete(t.id);
            c.view.render(c);
          }})),
        h('td', {class: 'mono', title: t.id}, t.id),
        h('td', {}, t.host),
        h('td', {}, (t.ports || []).map((p, i) => [i ? ', ' : '',
          h('a', {href: 'http://' + t.host + ':' + p + '/', target: '_blank', rel: 'noopener noreferrer'}, String(p))])),
        h('td', {}, badge(state, stCls)),
        h('td', {}, health),
        h('td', {title: t.version}, Marina.ago(t.version)),
        h('td', {}, h('a', {href: sandboxHref(app.id, t.id, 'stdout'), id: domID('stdout', t.id)}, 'stdout'), ' · ',
          h('a', {href: sandboxHref(app.id, t.id, 'stderr')}, 'stderr'),
          S.master() && t.slaveId ? [' · ', h('a', {href: S.master().url + 'console/sandbox?' +
            new URLSearchParams({agent: t.slaveId, framework: S.master().framework, task: t.id})}, 'files')] : null),
        h('td', {class: 'row-actions'},
          h('button', {class: 'btn small', type: 'button', id: domID('kill', t.id), onclick: () => kill(false)}, 'Kill'), ' ',
          h('button', {class: 'btn small', type: 'button', id: domID('killscale', t.id), onclick: () => kill(true)}, 'Kill & scale')));
    });
    if (!rows.length) rows.push(h('tr', {}, h('td', {colspan: 9, class: 'empty'}, 'No instances.')));
    return [
      h('div', {class: 'toolbar'},
        h('button', {class: 'btn', type: 'button', id: 'kill-selected', disabled: none, onclick: () => killSelected(false)}, 'Kill selected'),
        h('button', {class: 'btn', type: 'button', id: 'killscale-selected', disabled: none, onclick: () => killSelected(true)}, 'Kill & scale selected'),
        h('span', {class: 'muted'}, plural(tasks.length, 'instance'))),
      h('div', {class: 'scroll'}, h('table', {class: 'grid', id: 'tasks-table'},
        h('caption', {class: 'visually-hidden'}, 'Instances of ' + app.id),
        h('thead', {}, h('tr', {}, ['', 'ID', 'Host', 'Ports', 'State', 'Health', 'Version', 'Logs', ''].map((t) =>
          h('th', {scope: 'col'}, t ? t : h('span', {class: 'visually-hidden'}, 'Select or act'))))),
        h('tbody', {}, rows)))];
  }

  function configTab(app) {
    const def = stripped(app);
    const image = app.container && app.container.docker && app.container.docker.image;
    const kv = (o) => Object.entries(o || {}).map(([k, v]) => k + '=' + (typeof v === 'object' ? JSON.stringify(v) : v)).join('\n');
    const fact = (label, value) => value === undefined || value === '' || value === null ? null : [h('dt', {}, label), h('dd', {class: 'mono'}, value)];
    return [
      h('div', {class: 'toolbar'}, h('a', {class: 'btn', href: '#/edit' + enc(app.id), id: 'edit-config'}, 'Edit configuration'),
        h('span', {class: 'muted'}, 'Version ' + app.version)),
      h('div', {class: 'panel', style: {padding: '14px', marginBottom: '16px'}},
        h('dl', {class: 'facts'},
          fact('Command', app.cmd), fact('Image', image), fact('CPUs', Marina.cpus(app.cpus)), fact('Memory', Marina.mib(app.mem)),
          fact('Disk', app.disk + ' MiB'), fact('Instances', String(app.instances)),
          fact('Ports', (app.portDefinitions || []).map((p) => p.port + (p.name ? ' (' + p.name + ')' : '')).join(', ')),
          fact('Environment', kv(app.env)), fact('Labels', kv(app.labels)),
          fact('Constraints', (app.constraints || []).map((x) => x.join(' ')).join('; ')),
          fact('Health checks', (app.healthChecks || []).map((x) => (x.protocol || 'HTTP') +
            (x.path ? ' ' + x.path : '') + (x.command ? ' ' + x.command.value : '')).join('; ')))),
      h('h2', {}, 'Definition'),
      h('pre', {id: 'app-json'}, JSON.stringify(def, null, 2))];
  }

  function versionsTab(c, app) {
    const versions = c.data.versions || [];
    const rows = versions.map((v) => h('tr', {'data-version': v},
      h('td', {class: 'mono'}, v), h('td', {}, Marina.ago(v)),
      h('td', {}, v === app.version ? badge('current', 'ok') : null,
        v === (app.versionInfo || {}).lastConfigChangeAt && v !== app.version ? badge('last config change', 'info') : null),
      h('td', {}, v === app.version ? null : [
        h('button', {class: 'btn small', type: 'button', id: domID('diff', v), onclick: () => showDiff(c, app, v)}, 'Compare with current'), ' ',
        h('button', {class: 'btn small', type: 'button', id: domID('apply', v), onclick: () => applyVersion(app, v)}, 'Roll back to this version')])));
    return [
      h('table', {class: 'grid', id: 'versions-table'},
        h('caption', {class: 'visually-hidden'}, 'Versions of ' + app.id),
        h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Version'), h('th', {scope: 'col'}, 'When'),
          h('th', {scope: 'col'}, ''), h('th', {scope: 'col'}, 'Actions'))),
        h('tbody', {}, rows)),
      h('div', {id: 'diff-box', 'aria-live': 'polite'}, c.diff || null)];
  }

  async function showDiff(c, app, v) {
    const res = await api('GET', '/v2/apps' + enc(app.id) + '/versions/' + encodeURIComponent(v));
    if (!res.ok) return notify('Cannot read version ' + v + ': ' + M(res), true);
    const a = JSON.stringify(stripped(res.data), null, 2).split('\n');
    const b = JSON.stringify(stripped(app), null, 2).split('\n');
    c.diff = [h('h2', {}, 'Changes from ' + v + ' to the current version'),
      h('pre', {class: 'diff', id: 'diff'}, diffLines(a, b).map(([op, line]) =>
        h('span', {class: op === '+' ? 'add' : op === '-' ? 'del' : 'same'}, op + ' ' + line)))];
    replace(document.getElementById('diff-box'), c.diff);
  }

  // diffLines is a longest-common-subsequence line diff: [op, line] with op '+', '-' or ' '.
  function diffLines(a, b) {
    const n = a.length, m = b.length;
    const L = Array.from({length: n + 1}, () => new Int32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) {
      L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    }
    const out = [];
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (a[i] === b[j]) { out.push([' ', a[i]]); i++; j++; }
      else if (L[i + 1][j] >= L[i][j + 1]) out.push(['-', a[i++]]);
      else out.push(['+', b[j++]]);
    }
    while (i < n) out.push(['-', a[i++]]);
    while (j < m) out.push(['+', b[j++]]);
    return out;
  }

  async function applyVersion(app, v) {
    if (!await Marina.confirm('Roll back ' + app.id, 'Deploy the definition of version ' + v + ' again? Instances restart when its configuration differs.', 'Roll back')) return;
    if (await act('Roll back to ' + v, 'PUT', '/v2/apps' + enc(app.id), {version: v})) {
      location.hash = appHref(app.id);
    }
  }

  function scaleDialog(app) {
    const input = h('input', {type: 'number', min: 0, step: 1, id: 'scale-input', value: String(app.instances), required: true});
    const d = h('dialog', {'aria-labelledby': 'scale-title'},
      h('h2', {id: 'scale-title'}, 'Scale ' + app.id),
      h('form', {method: 'dialog', id: 'scale-form'},
        h('div', {class: 'field'}, h('label', {for: 'scale-input'}, 'Instances'), input),
        h('div', {class: 'actions'},
          h('button', {class: 'btn', type: 'button', onclick: () => d.close('cancel')}, 'Cancel'),
          h('button', {class: 'btn primary', value: 'ok', id: 'scale-ok'}, 'Scale'))));
    d.addEventListener('close', () => {
      const n = Number(input.value);
      d.remove();
      if (d.returnValue === 'ok' && Number.isInteger(n) && n >= 0) {
        act('Scale ' + app.id + ' to ' + n, 'PUT', '/v2/apps' + enc(app.id), {instances: n});
      }
    });
    document.body.append(d);
    d.showModal();
    input.select();
  }

  async function restart(app) {
    if (await Marina.confirm('Restart ' + app.id, 'Replace every instance with a new one?', 'Restart')) {
      act('Restart ' + app.id, 'POST', '/v2/apps' + enc(app.id) + '/restart');
    }
  }

  async function suspend(app) {
    if (await Marina.confirm('Suspend ' + app.id, 'Scale to 0 instances? The definition is kept; scale up to resume.', 'Suspend')) {
      act('Suspend ' + app.id, 'PUT', '/v2/apps' + enc(app.id), {instances: 0});
    }
  }

  async function destroy(app) {
    if (!await Marina.confirm('Destroy ' + app.id, 'Kill every instance and delete the application with all its versions? This cannot be undone.', 'Destroy', true)) return;
    if (await act('Destroy ' + app.id, 'DELETE', '/v2/apps' + enc(app.id))) location.hash = folderHref(parentOf(app.id));
  }

  S.views.app = appView;
})();
