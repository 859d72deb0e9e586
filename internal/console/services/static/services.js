// Marina services console: apps, tasks, versions, deployments and sandboxes over the same
// origin's Marathon /v2 API, kept live by its /v2/events stream. Plain JavaScript, no build step.
'use strict';
(function () {
  const {h, replace, notify} = Marina;

  // api calls the REST API; an answer of 401 (the session ended) sends the browser to the login
  // page, which brings it back here.
  async function api(method, path, body) {
    const res = await Marina.api(method, path, body);
    if (res.status === 401 && !api.leaving) {
      api.leaving = true;
      location.assign('/login?next=' + encodeURIComponent(location.pathname + location.hash));
    }
    return res;
  }
  const main = document.getElementById('main');

  // The events that can change what a page shows.
  const EVENTS = ['status_update_event', 'api_post_event', 'app_terminated_event',
    'deployment_info', 'deployment_success', 'deployment_failed', 'deployment_step_success',
    'deployment_step_failure', 'health_status_changed_event', 'instance_health_changed_event',
    'unhealthy_task_kill_event', 'failed_health_check_event'];

  // Fields GET adds to an app that a PUT or POST must not carry back.
  const READ_ONLY = ['version', 'versionInfo', 'tasksStaged', 'tasksRunning', 'tasksHealthy',
    'tasksUnhealthy', 'deployments', 'readinessCheckResults', 'tasks', 'lastTaskFailure', 'tasksStats'];

  let current = null; // {view, name, rest, query, data}
  let master = null; // {url, framework}: the leading master's console, from /v2/info
  let seq = 0;

  // ---- helpers -----------------------------------------------------------------------------

  const enc = (id) => id.split('/').map(encodeURIComponent).join('/');
  const appHref = (id, tab) => '#/app' + enc(id) + (tab ? '?tab=' + tab : '');
  const folderHref = (path) => '#/apps' + (path === '/' ? '' : enc(path));
  const sandboxHref = (app, task, file) => '#/sandbox?' + new URLSearchParams({app, task, file});
  const parentOf = (id) => id.slice(0, id.lastIndexOf('/')) || '/';
  const nameOf = (id) => id.slice(id.lastIndexOf('/') + 1);
  const domID = (prefix, s) => prefix + '-' + s.replace(/[^A-Za-z0-9_-]/g, '_');

  function stripped(app) {
    const out = Object.assign({}, app);
    for (const k of READ_ONLY) delete out[k];
    return out;
  }

  // status returns an app's state as Marathon's console names it, with a badge class.
  function status(app, queued) {
    const running = app.tasksRunning || 0;
    if ((app.deployments || []).length) return ['Deploying', 'info'];
    if (app.instances === 0 && running === 0) return ['Suspended', ''];
    if (queued && queued.delay && !queued.delay.overdue) return ['Delayed', 'bad'];
    if (running >= app.instances && (app.tasksUnhealthy || 0) === 0) return ['Running', 'ok'];
    if ((app.tasksUnhealthy || 0) > 0) return ['Unhealthy', 'bad'];
    return ['Waiting', 'warn'];
  }

  const plural = (n, word) => n + ' ' + word + (n === 1 ? '' : 's');
  const inFolder = (apps, folder) => folder === '/' ? apps : apps.filter((a) => a.id.startsWith(folder + '/'));

  function badge(text, cls) { return h('span', {class: 'badge ' + (cls || '')}, text); }

  // healthBar shows an app's or a folder's instances: healthy, unhealthy, running with no
  // health known, staged.
  function healthBar(c) {
    const total = Math.max(c.instances, c.running + c.staged, 1);
    const seg = (cls, n) => n > 0 ? h('span', {class: cls, style: {width: (100 * n / total) + '%'}}) : null;
    const unknown = Math.max(c.running - c.healthy - c.unhealthy, 0);
    const label = `${c.healthy} healthy, ${c.unhealthy} unhealthy, ${unknown} running with no health check, ${c.staged} staged, of ${c.instances}`;
    return h('div', {class: 'bar', role: 'img', 'aria-label': label, title: label},
      seg('healthy', c.healthy), seg('unhealthy', c.unhealthy), seg('running', unknown), seg('staged', c.staged));
  }

  function counts(app) {
    return {instances: app.instances || 0, running: app.tasksRunning || 0, staged: app.tasksStaged || 0,
      healthy: app.tasksHealthy || 0, unhealthy: app.tasksUnhealthy || 0};
  }

  function crumbs(path, last) {
    const parts = path.split('/').filter(Boolean);
    const items = [h('li', {}, h('a', {href: '#/apps'}, 'Applications'))];
    let acc = '';
    parts.forEach((p, i) => {
      acc += '/' + p;
      items.push(h('li', {}, i === parts.length - 1 && last ? p : h('a', {href: folderHref(acc)}, p)));
    });
    return h('nav', {'aria-label': 'Breadcrumb'}, h('ol', {class: 'crumbs'}, items));
  }

  function heading(text) { return h('h1', {id: 'page-title', tabindex: '-1'}, text); }

  // act runs a change through the API and reports it; a change refused because a deployment
  // holds the app (409) can be forced after asking.
  async function act(label, method, path, body) {
    let res = await api(method, path, body);
    if (res.status === 409) {
      if (!await askForce(res)) return null;
      res = await api(method, path + (path.includes('?') ? '&' : '?') + 'force=true', body);
    }
    if (!res.ok) {
      notify(label + ' failed: ' + M(res), true);
      return null;
    }
    notify(label + (res.headers.get('Marathon-Deployment-Id') ? ': deployment started' : ': done'));
    refresh();
    return res;
  }
  const M = Marina.errorText;

  // askForce asks whether to force a change that a deployment in progress refused (409).
  const askForce = (res) => Marina.confirm('Deployment in progress',
    M(res) + ' Force the change? It replaces the running deployment.', 'Force', true);

  // ---- router ------------------------------------------------------------------------------

  const views = {apps: appsView, app: appView, new: editView, edit: editView, deployments: deploymentsView, sandbox: sandboxView};

  function parseHash() {
    const raw = location.hash.startsWith('#/') ? location.hash.slice(1) : '/apps';
    const [path, qs] = raw.split('?');
    const parts = path.split('/').slice(1).map(decodeURIComponent);
    const name = views[parts[0]] ? parts[0] : 'apps';
    return {name, rest: '/' + parts.slice(1).join('/'), query: new URLSearchParams(qs || '')};
  }

  function route() {
    if (location.hash && !location.hash.startsWith('#/')) return; // the skip link
    const {name, rest, query} = parseHash();
    for (const a of document.querySelectorAll('.topbar nav a')) {
      const section = a.getAttribute('href').slice(2);
      const on = section === name || (section === 'apps' && ['app', 'new', 'edit', 'sandbox'].includes(name));
      if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    if (current && current.stop) current.stop();
    current = {view: views[name], name, rest, query, fresh: true};
    refresh();
  }

  // refresh loads the current view's data and renders it; answers of a superseded load are
  // dropped.
  async function refresh() {
    const c = current;
    if (!c) return;
    const mine = ++seq;
    let data;
    try {
      data = await c.view.load(c);
    } catch (e) {
      data = {error: String(e)};
    }
    if (mine !== seq || c !== current) return;
    // Redraw only what changed: a redraw replaces the elements under the pointer.
    const key = JSON.stringify(data);
    if (!c.fresh && key === c.key) return;
    c.key = key;
    c.data = data;
    c.view.render(c);
    if (c.fresh) {
      c.fresh = false;
      const t = document.getElementById('page-title');
      if (t) t.focus({preventScroll: true});
      window.scrollTo(0, 0);
    }
  }

  function renderError(c) {
    replace(main, heading('Cannot load this page'), h('p', {class: 'errors'}, c.data.error));
  }

  // ---- apps --------------------------------------------------------------------------------

  function appsView() {}
  appsView.load = async (c) => {
    const [apps, queue] = await Promise.all([api('GET', '/v2/apps'), api('GET', '/v2/queue')]);
    if (!apps.ok) return {error: M(apps)};
    const queued = {};
    for (const q of (queue.ok && queue.data.queue) || []) if (q.app) queued[q.app.id] = q;
    return {apps: apps.data.apps, queued};
  };
  appsView.render = (c) => {
    if (c.data.error) return renderError(c);
    const folder = c.rest === '/' ? '/' : c.rest.replace(/\/$/, '');
    document.title = 'Applications · Marina';
    if (c.filter === undefined) c.filter = '';
    const tableBox = h('div', {id: 'apps-box'});
    const filter = h('input', {type: 'search', id: 'filter', placeholder: 'Filter by id', value: c.filter,
      'aria-label': 'Filter applications by id',
      oninput: (e) => { c.filter = e.target.value; replace(tableBox, appsTable(c, folder)); }});
    replace(main,
      folder !== '/' ? crumbs(folder, true) : null,
      h('div', {class: 'page-head'}, heading(folder === '/' ? 'Applications' : nameOf(folder)),
        h('div', {class: 'actions'}, h('a', {class: 'btn primary', id: 'create-app',
          href: '#/new' + (folder === '/' ? '' : '?folder=' + encodeURIComponent(folder))}, 'Create application'))),
      h('div', {class: 'toolbar'}, filter,
        h('span', {class: 'muted', id: 'apps-count'}, plural(inFolder(c.data.apps, folder).length, 'application') +
          (folder === '/' ? '' : ' in this folder'))),
      tableBox);
    replace(tableBox, appsTable(c, folder));
    // Marks for measuring: the first rows built here, then painted and every row drawn (apps-painted,
    // apps-drawn in appsTable).
    performance.mark('apps-rendered');
  };

  // appsTable lists the folder's subfolders (from the apps' ids) and its apps; a filter
  // searches every app under the folder instead.
  function appsTable(c, folder) {
    const prefix = folder === '/' ? '/' : folder + '/';
    const needle = c.filter.toLowerCase();
    const folders = new Map();
    const rows = [];
    for (const app of c.data.apps) {
      if (!app.id.startsWith(prefix)) continue;
      if (needle) {
        if (app.id.toLowerCase().includes(needle)) rows.push(app);
        continue;
      }
      const rest = app.id.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) { rows.push(app); continue; }
      const name = rest.slice(0, slash);
      const f = folders.get(name) || {apps: 0, cpus: 0, mem: 0, instances: 0, running: 0, staged: 0, healthy: 0, unhealthy: 0};
      const k = counts(app);
      f.apps++; f.instances += k.instances; f.running += k.running; f.staged += k.staged;
      f.healthy += k.healthy; f.unhealthy += k.unhealthy;
      f.cpus += app.cpus * k.instances; f.mem += app.mem * k.instances;
      folders.set(name, f);
    }
    const body = [];
    for (const [name, f] of [...folders].sort((a, b) => a[0].localeCompare(b[0]))) {
      body.push(h('tr', {class: 'folder'},
        h('td', {}, h('a', {href: folderHref(prefix + name), id: domID('folder', prefix + name)}, name + '/'),
          ' ', h('span', {class: 'muted'}, plural(f.apps, 'app'))),
        h('td', {}, badge('Folder')),
        h('td', {class: 'num'}, f.running + ' / ' + f.instances),
        h('td', {}, healthBar(f)),
        h('td', {class: 'num'}, Marina.cpus(f.cpus)),
        h('td', {class: 'num'}, Marina.mib(f.mem))));
    }
    const appRow = (app) => {
      const [st, cls] = status(app, c.data.queued[app.id]);
      const k = counts(app);
      return h('tr', {'data-app': app.id},
        h('td', {}, h('a', {href: appHref(app.id), id: domID('app', app.id)}, needle ? app.id : nameOf(app.id))),
        h('td', {}, badge(st, cls)),
        h('td', {class: 'num'}, k.running + ' / ' + k.instances, k.staged ? h('span', {class: 'muted'}, ' (' + k.staged + ' staged)') : null),
        h('td', {}, healthBar(k)),
        h('td', {class: 'num'}, Marina.cpus(app.cpus)),
        h('td', {class: 'num'}, Marina.mib(app.mem)));
    };
    if (!body.length && !rows.length) {
      body.push(h('tr', {}, h('td', {colspan: 6, class: 'empty'},
        needle ? 'No application matches the filter.' : 'No applications here yet. ',
        needle ? null : h('a', {href: '#/new'}, 'Create one'))));
    }
    // A long list is drawn in two parts: the first rows at once, so they show and answer
    // quickly, and the rest after that first paint. A user whose focus is in the table gets it
    // whole, so a live update cannot take the focus away.
    const active = document.activeElement;
    const whole = active && active.closest && active.closest('#apps-table');
    const first = whole ? rows.length : FIRST_ROWS;
    const tbody = h('tbody', {}, body, rows.slice(0, first).map(appRow));
    const token = ++appsDrawing;
    // A task queued from the next frame runs once that frame is painted.
    requestAnimationFrame(() => setTimeout(() => {
      performance.mark('apps-painted');
      if (token !== appsDrawing) return;
      tbody.append(...rows.slice(first).map(appRow));
      performance.mark('apps-drawn');
    }));
    return h('table', {class: 'grid', id: 'apps-table', 'aria-rowcount': rows.length + body.length + 1},
      h('caption', {class: 'visually-hidden'}, 'Applications'),
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Name'), h('th', {scope: 'col'}, 'Status'),
        h('th', {scope: 'col', class: 'num'}, 'Running'), h('th', {scope: 'col'}, 'Health'),
        h('th', {scope: 'col', class: 'num'}, 'CPU'), h('th', {scope: 'col', class: 'num'}, 'Memory'))),
      tbody);
  }
  const FIRST_ROWS = 100;
  let appsDrawing = 0; // the latest drawing of the apps table; older ones stop

  // ---- one app -----------------------------------------------------------------------------

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
          master && t.slaveId ? [' · ', h('a', {href: master.url + 'console/sandbox?' +
            new URLSearchParams({agent: t.slaveId, framework: master.framework, task: t.id})}, 'files')] : null),
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
      h('table', {class: 'grid', id: 'tasks-table'},
        h('caption', {class: 'visually-hidden'}, 'Instances of ' + app.id),
        h('thead', {}, h('tr', {}, ['', 'ID', 'Host', 'Ports', 'State', 'Health', 'Version', 'Logs', ''].map((t) =>
          h('th', {scope: 'col'}, t ? t : h('span', {class: 'visually-hidden'}, 'Select or act'))))),
        h('tbody', {}, rows))];
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
    const res = await api('GET', '/v2/apps' + enc(app.id) + '/versions/' + encodeURIComponent(v));
    if (!res.ok) return notify('Cannot read version ' + v + ': ' + M(res), true);
    if (await act('Roll back to ' + v, 'PUT', '/v2/apps' + enc(app.id) + '?partialUpdate=false', stripped(res.data))) {
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

  async function rollback(d) {
    if (await Marina.confirm('Roll back the deployment', 'Stop deployment ' + d.id + ' and return ' + d.affectedApps.join(', ') + ' to where they were before it?', 'Roll back')) {
      act('Roll back ' + d.id, 'DELETE', '/v2/deployments/' + encodeURIComponent(d.id));
    }
  }

  async function stopDeployment(d) {
    if (await Marina.confirm('Stop the deployment', 'Stop deployment ' + d.id + ' where it is, without rolling back?', 'Stop', true)) {
      act('Stop ' + d.id, 'DELETE', '/v2/deployments/' + encodeURIComponent(d.id) + '?force=true');
    }
  }

  // ---- create and edit ---------------------------------------------------------------------

  // The form's fields: the JSON path each edits (for the server's 422 details), and how it
  // reads from and writes to a definition.
  const FIELDS = [
    {key: 'id', label: 'ID', path: '/id', hint: 'A path such as /shop/web; its folders group apps.',
      get: (d) => d.id || '', set: (d, v) => { d.id = v; }},
    {key: 'cmd', label: 'Command', path: '/cmd', area: true, hint: 'Run by /bin/sh in the sandbox; $PORT0 is the first port.',
      get: (d) => d.cmd || '', set: (d, v) => { if (v) d.cmd = v; else delete d.cmd; }},
    {key: 'image', label: 'Docker image', path: '/container', hint: 'Optional: run the command in this image.',
      get: (d) => (d.container && d.container.docker && d.container.docker.image) || '',
      set: (d, v) => {
        if (v) { d.container = Object.assign({type: 'DOCKER'}, d.container); d.container.docker = Object.assign({}, d.container.docker, {image: v}); }
        else if (d.container && d.container.type === 'DOCKER') delete d.container;
      }},
    {key: 'cpus', label: 'CPUs', path: '/cpus', num: true, get: (d) => d.cpus ?? 0.1, set: (d, v) => { d.cpus = v; }},
    {key: 'mem', label: 'Memory (MiB)', path: '/mem', num: true, get: (d) => d.mem ?? 64, set: (d, v) => { d.mem = v; }},
    {key: 'disk', label: 'Disk (MiB)', path: '/disk', num: true, get: (d) => d.disk ?? 0, set: (d, v) => { d.disk = v; }},
    {key: 'instances', label: 'Instances', path: '/instances', num: true, get: (d) => d.instances ?? 1, set: (d, v) => { d.instances = v; }},
    {key: 'ports', label: 'Ports', path: '/portDefinitions', hint: 'Comma-separated; 0 picks a free port.',
      get: (d) => (d.portDefinitions || []).map((p) => p.port).join(', '),
      set: (d, v) => {
        const ports = v.split(',').map((s) => s.trim()).filter(Boolean);
        const old = d.portDefinitions || [];
        if (ports.length) d.portDefinitions = ports.map((p, i) => Object.assign({}, old[i], {port: Number(p)}));
        else delete d.portDefinitions;
      }},
    {key: 'env', label: 'Environment', path: '/env', area: true, hint: 'One NAME=value a line.',
      get: (d) => Object.entries(d.env || {}).filter(([, v]) => typeof v === 'string').map(([k, v]) => k + '=' + v).join('\n'),
      set: (d, v) => { const kv = parseKV(v); const secret = Object.entries(d.env || {}).filter(([, x]) => typeof x !== 'string');
        if (Object.keys(kv).length || secret.length) d.env = Object.assign(Object.fromEntries(secret), kv); else delete d.env; }},
    {key: 'labels', label: 'Labels', path: '/labels', area: true, hint: 'One name=value a line.',
      get: (d) => Object.entries(d.labels || {}).map(([k, v]) => k + '=' + v).join('\n'),
      set: (d, v) => { const kv = parseKV(v); if (Object.keys(kv).length) d.labels = kv; else delete d.labels; }},
  ];

  function parseKV(text) {
    const out = {};
    for (const line of text.split('\n')) {
      const i = line.indexOf('=');
      if (line.trim() && i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1);
    }
    return out;
  }

  function editView() {}
  editView.load = async (c) => {
    if (c.name === 'new') {
      const folder = c.query.get('folder') || '';
      return {def: {id: folder ? folder + '/' : '', cmd: '', cpus: 0.1, mem: 64, instances: 1}};
    }
    const res = await api('GET', '/v2/apps' + enc(c.rest));
    if (!res.ok) return {error: M(res)};
    return {def: stripped(res.data.app)};
  };
  editView.render = (c) => {
    if (c.data.error) return renderError(c);
    if (c.def) return; // a live update must not reset what the user is typing
    c.def = c.data.def;
    c.mode = 'form';
    const creating = c.name === 'new';
    document.title = (creating ? 'Create application' : 'Edit ' + c.def.id) + ' · Marina';
    const box = h('div', {id: 'editor'});
    const summary = h('div', {class: 'errors', id: 'form-errors', role: 'alert'});
    const modeButton = (mode, label) => h('button', {type: 'button', class: 'btn small', id: 'mode-' + mode,
      'aria-pressed': String(c.mode === mode), onclick: () => switchMode(c, mode, box, summary)}, label);
    const submit = async (e) => {
      e.preventDefault();
      if (!syncDef(c, summary)) return;
      const put = (force) => api('PUT', '/v2/apps' + enc(c.rest) + '?partialUpdate=false' + (force ? '&force=true' : ''), c.def);
      let res = creating ? await api('POST', '/v2/apps', c.def) : await put(false);
      if (res.status === 409 && !creating) {
        if (!await askForce(res)) return;
        res = await put(true);
      }
      if (!res.ok) return showErrors(c, res, box, summary);
      notify((creating ? 'Created ' : 'Updated ') + (res.data.id || c.rest) + ': deployment started');
      location.hash = appHref(creating ? res.data.id : c.rest);
    };
    replace(main,
      creating ? null : crumbs(c.rest, false),
      h('div', {class: 'page-head'}, heading(creating ? 'Create application' : 'Edit ' + c.def.id),
        h('div', {class: 'actions', role: 'group', 'aria-label': 'Editor'}, modeButton('form', 'Form'), modeButton('json', 'JSON'))),
      h('form', {id: 'app-form', novalidate: true, onsubmit: submit},
        summary, box,
        h('div', {class: 'toolbar'},
          h('button', {class: 'btn primary', type: 'submit', id: 'submit'}, creating ? 'Create application' : 'Deploy changes'),
          h('a', {class: 'btn', href: creating ? '#/apps' : appHref(c.rest)}, 'Cancel'))));
    renderEditor(c, box);
  };

  function renderEditor(c, box) {
    if (c.mode === 'json') {
      replace(box, h('div', {class: 'field'},
        h('label', {for: 'json'}, 'App definition (JSON)'),
        h('textarea', {id: 'json', rows: 24, spellcheck: 'false', 'aria-describedby': 'json-errors'}, JSON.stringify(c.def, null, 2)),
        h('div', {class: 'errors', id: 'json-errors'})));
      return;
    }
    // Consecutive numeric fields share a row.
    const out = [];
    for (const f of FIELDS) {
      const el = fieldEl(c, f);
      const last = out[out.length - 1];
      if (f.num && last && last.classList.contains('cols')) last.append(el);
      else out.push(f.num ? h('div', {class: 'cols'}, el) : el);
    }
    replace(box, out);
  }

  function fieldEl(c, f) {
    const id = 'f-' + f.key;
    const attrs = {id, name: f.key, 'data-path': f.path, 'aria-describedby': 'err-' + f.key + (f.hint ? ' hint-' + f.key : '')};
    let input;
    if (f.area) input = h('textarea', Object.assign(attrs, {rows: f.key === 'cmd' ? 3 : 4}), String(f.get(c.def)));
    else input = h('input', Object.assign(attrs, {type: f.num ? 'number' : 'text', step: f.num ? 'any' : null, value: String(f.get(c.def))}));
    return h('div', {class: 'field'}, h('label', {for: id}, f.label), input,
      f.hint ? h('span', {class: 'hint', id: 'hint-' + f.key}, f.hint) : null,
      h('span', {class: 'error', id: 'err-' + f.key}));
  }

  // syncDef brings c.def up to date with what the editor shows; false when the JSON does not
  // parse.
  function syncDef(c, summary) {
    if (c.mode === 'json') {
      try {
        c.def = JSON.parse(document.getElementById('json').value);
      } catch (e) {
        replace(summary, 'The JSON does not parse: ' + e.message);
        return false;
      }
      return true;
    }
    for (const f of FIELDS) {
      const v = document.getElementById('f-' + f.key).value;
      f.set(c.def, f.num ? (v === '' ? undefined : Number(v)) : v);
    }
    return true;
  }

  function switchMode(c, mode, box, summary) {
    if (mode === c.mode || !syncDef(c, summary)) return;
    c.mode = mode;
    replace(summary);
    for (const b of document.querySelectorAll('[id^="mode-"]')) b.setAttribute('aria-pressed', String(b.id === 'mode-' + mode));
    renderEditor(c, box);
  }

  // showErrors puts the server's validation details next to the fields they concern, and the
  // rest in the summary above the form.
  function showErrors(c, res, box, summary) {
    const details = (res.data && res.data.details) || [];
    const unplaced = [];
    for (const el of box.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const el of box.querySelectorAll('.error')) el.textContent = '';
    for (const d of details) {
      const text = (d.errors || []).join('; ');
      const f = c.mode === 'form' && FIELDS.filter((x) => d.path === x.path || d.path.startsWith(x.path + '/') || d.path.startsWith(x.path + '('))
        .sort((a, b) => b.path.length - a.path.length)[0];
      if (!f) { unplaced.push(d.path + ': ' + text); continue; }
      const input = document.getElementById('f-' + f.key);
      input.setAttribute('aria-invalid', 'true');
      const err = document.getElementById('err-' + f.key);
      err.textContent = (err.textContent ? err.textContent + '; ' : '') + (d.path === f.path ? '' : d.path + ': ') + text;
    }
    const title = M(res) + (details.length ? ' (' + details.length + (details.length === 1 ? ' problem)' : ' problems)') : '');
    replace(summary, h('p', {}, title), unplaced.length ? h('ul', {}, unplaced.map((u) => h('li', {}, u))) : null);
    if (c.mode === 'json') replace(document.getElementById('json-errors'), h('ul', {}, details.map((d) => h('li', {}, d.path + ': ' + (d.errors || []).join('; ')))));
    const first = box.querySelector('[aria-invalid="true"]');
    (first || summary).focus();
  }

  // ---- deployments -------------------------------------------------------------------------

  function deploymentsView() {}
  deploymentsView.load = async () => {
    const [res, apps] = await Promise.all([api('GET', '/v2/deployments'), api('GET', '/v2/apps')]);
    if (!res.ok) return {error: M(res)};
    const byID = new Map(((apps.ok && apps.data.apps) || []).map((a) => [a.id, a]));
    return {deployments: res.data, apps: byID};
  };

  // progress returns how far a deployment is, in steps: the steps done plus the share of the
  // current step's apps' instances that run.
  function progress(d, apps) {
    let run = 0, want = 0;
    for (const a of d.currentActions) {
      const app = apps.get(a.app);
      if (!app || a.action === 'StopApplication') continue;
      run += Math.min(app.tasksRunning || 0, app.instances);
      want += app.instances;
    }
    const share = want ? run / want : 0;
    return {value: Math.max(d.currentStep - 1, 0) + share, text: want ? run + ' of ' + want + ' instances running' : ''};
  }
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

  // ---- sandbox -----------------------------------------------------------------------------

  // The sandbox page follows a task's stdout or stderr, read through this console's server,
  // which finds the task's agent and asks its /files API.
  function sandboxView() {}
  sandboxView.load = async (c) => {
    const task = c.query.get('task') || '';
    const file = c.query.get('file') === 'stderr' ? 'stderr' : 'stdout';
    if (c.text === undefined) { c.text = ''; c.offset = 0; }
    const res = await api('GET', 'api/tasks/' + encodeURIComponent(task) + '/files/' + file + '?offset=' + c.offset);
    if (!res.ok) return {task, file, error: M(res)};
    c.text += res.data.data;
    c.offset = res.data.offset + res.data.data.length;
    return {task, file, more: res.data.data.length > 0};
  };
  sandboxView.render = (c) => {
    const {task, file} = c.data;
    const appID = c.query.get('app') || '';
    document.title = file + ' of ' + task + ' · Marina';
    if (!c.stop) {
      const timer = setInterval(() => { if (current === c) refresh(); }, 1000);
      c.stop = () => clearInterval(timer);
    }
    const other = file === 'stdout' ? 'stderr' : 'stdout';
    replace(main,
      h('div', {class: 'page-head'}, heading(file + ' of ' + task),
        h('div', {class: 'actions'},
          h('a', {class: 'btn', href: sandboxHref(appID, task, other)}, 'Show ' + other),
          appID ? h('a', {class: 'btn', href: appHref(appID)}, 'Back to ' + appID) : null)),
      c.data.error ? h('p', {class: 'errors', id: 'sandbox-error'}, c.data.error) : null,
      h('pre', {id: 'sandbox', tabindex: '0', 'aria-label': file + ' of ' + task}, c.text || (c.data.error ? '' : '(empty so far)')));
    if (c.data.more) {
      const pre = document.getElementById('sandbox');
      pre.scrollTop = pre.scrollHeight;
    }
  };

  // ---- start -------------------------------------------------------------------------------

  const live = Marina.throttle(() => {
    if (current && current.name !== 'sandbox') refresh();
  }, 300);
  Marina.stream('/v2/events', EVENTS, live, (on) => { Marina.setLive(on); if (on) live(); });
  api('GET', '/v2/info').then((res) => {
    const url = res.ok && res.data.marathon_config && res.data.marathon_config.mesos_leader_ui_url;
    if (url && /^https?:\/\//.test(url)) {
      master = {url: url.endsWith('/') ? url : url + '/', framework: res.data.frameworkId || ''};
      document.querySelector('.topbar nav ul').append(h('li', {}, h('a', {href: url, id: 'master-link'}, 'Master')));
    }
  });
  window.addEventListener('hashchange', route);
  route();
})();
