// Marina services console: the apps page, every app in folders made from its id's path
// segments.
'use strict';
(function () {
  const {h, replace} = Marina;
  const S = window.MarinaServices;
  const {
    api, M, renderError, appHref, folderHref, nameOf, domID, status, plural, inFolder, badge,
    healthBar, counts, crumbs, heading, main,
  } = S;

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

  S.views.apps = appsView;
})();
