// Marina services console: creating and editing an app, as a form or as raw JSON.
'use strict';
(function () {
  const {h, replace, notify} = Marina;
  const S = window.MarinaServices;
  const {api, M, askForce, renderError, enc, appHref, stripped, crumbs, heading, main} = S;

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
        h('div', {class: 'errors', id: 'json-errors'}),
        h('textarea', {id: 'json', rows: 24, spellcheck: 'false', 'aria-describedby': 'json-errors'}, JSON.stringify(c.def, null, 2))));
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

  // lineOf returns the line of the JSON text where the member a detail's path starts with is,
  // or 0: "/healthChecks(0)/path" is on the line of "healthChecks".
  function lineOf(text, path) {
    const key = (path.split('/')[1] || '').replace(/\(\d+\)$/, '');
    if (!key) return 0;
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.startsWith('  "' + key + '":'));
    return i + 1;
  }

  // showErrors puts the server's validation details next to the fields they concern (in the
  // JSON editor, above it with their line numbers), and the rest in the summary above the form.
  function showErrors(c, res, box, summary) {
    const details = (res.data && res.data.details) || [];
    if (c.mode === 'json') {
      const text = document.getElementById('json').value;
      replace(summary, h('p', {}, M(res)));
      replace(document.getElementById('json-errors'), h('ul', {}, details.map((d) => {
        const line = lineOf(text, d.path);
        return h('li', {}, (line ? 'line ' + line + ', ' : '') + d.path + ': ' + (d.errors || []).join('; '));
      })));
      // Select the line of the first problem found in the text, and bring it into view.
      const ta = document.getElementById('json');
      const line = details.map((d) => lineOf(text, d.path)).find((n) => n > 0);
      ta.focus();
      if (line) {
        const lines = text.split('\n');
        const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
        ta.setSelectionRange(start, start + lines[line - 1].length);
        ta.scrollTop = Math.max(0, (line - 3) * (parseFloat(getComputedStyle(ta).lineHeight) || 18));
      }
      return;
    }
    const unplaced = [];
    for (const el of box.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const el of box.querySelectorAll('.error')) el.textContent = '';
    for (const d of details) {
      const text = (d.errors || []).join('; ');
      const f = FIELDS.filter((x) => d.path === x.path || d.path.startsWith(x.path + '/') || d.path.startsWith(x.path + '('))
        .sort((a, b) => b.path.length - a.path.length)[0];
      if (!f) { unplaced.push(d.path + ': ' + text); continue; }
      const input = document.getElementById('f-' + f.key);
      input.setAttribute('aria-invalid', 'true');
      const err = document.getElementById('err-' + f.key);
      err.textContent = (err.textContent ? err.textContent + '; ' : '') + (d.path === f.path ? '' : d.path + ': ') + text;
    }
    const title = M(res) + (details.length ? ' (' + details.length + (details.length === 1 ? ' problem)' : ' problems)') : '');
    replace(summary, h('p', {}, title), unplaced.length ? h('ul', {}, unplaced.map((u) => h('li', {}, u))) : null);
    const first = box.querySelector('[aria-invalid="true"]');
    (first || summary).focus();
  }

  S.views.new = editView;
  S.views.edit = editView;
})();
