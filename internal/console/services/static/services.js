// Marina services console: apps, tasks, versions, deployments and sandboxes over the same
// origin's Marathon /v2 API, kept live by its /v2/events stream. Plain JavaScript, no build step.
//
// This script holds what the pages share: the API call, helpers, the router and the live
// refresh. Each page's script (apps.js, app.js, edit.js, deployments.js) registers its view in
// window.MarinaServices.views; the router starts once every script has run.
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

  // Each page's view, registered by its script: load(c) fetches, render(c) draws into main.
  const views = {};

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
    // A page that failed to load (no leader yet, a network error) tries again by itself.
    if (data.error && !c.retry) {
      c.retry = setTimeout(() => { c.retry = null; if (current === c) refresh(); }, 2000);
    }
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
    replace(main, heading('Cannot load this page'), h('p', {class: 'errors'}, c.data.error),
      h('p', {class: 'muted'}, 'This page tries again every two seconds.'));
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

  // ---- start -------------------------------------------------------------------------------

  window.MarinaServices = {
    api, M, act, askForce, refresh, renderError, views, main,
    enc, appHref, folderHref, sandboxHref, parentOf, nameOf, domID, stripped, status, plural,
    inFolder, badge, healthBar, counts, crumbs, heading, rollback, stopDeployment, progress,
    current: () => current,
    master: () => master,
  };

  const live = Marina.coalesce(async () => {
    if (current && current.name !== 'sandbox') await refresh();
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
  document.addEventListener('DOMContentLoaded', route); // after every page's script
})();
