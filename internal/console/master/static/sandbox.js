// A task's sandbox: its files, and any file's content with a live tail. Everything is read
// through the master's agent proxy, /agent/{id}/..., so the browser never reaches the agent.
'use strict';

(() => {
  const C = window.MasterConsole;
  const M = window.Marina;
  const h = M.h;
  const $ = id => document.getElementById(id);

  const agent = C.param('agent'), framework = C.param('framework'), task = C.param('task');
  const executor = C.param('executor') || task;
  const rel = C.param('path').split('/').filter(s => s && s !== '.' && s !== '..').join('/');
  const base = '/agent/' + encodeURIComponent(agent);
  const pageBytes = 64 * 1024; // one read of a file
  const maxShown = 2 * 1024 * 1024; // characters kept on the page; older ones are dropped

  const link = path => {
    const q = new URLSearchParams({agent, framework, executor, task});
    if (path) q.set('path', path);
    return '/console/sandbox?' + q.toString();
  };

  C.page(['Sandbox of ', h('span', {class: 'mono'}, task || '?')],
    h('p', {id: 'where', class: 'muted'}),
    h('nav', {'aria-label': 'Sandbox path'}, h('ol', {id: 'crumbs', class: 'crumbs mono'})),
    h('section', {id: 'listing', 'aria-label': 'Files', hidden: true},
      C.table('files', 'Files', ['Name', 'Mode', 'Size', 'Modified'])),
    h('section', {id: 'viewer', 'aria-labelledby': 'file-name', hidden: true},
      h('div', {class: 'toolbar'},
        h('h2', {id: 'file-name', class: 'mono'}, rel),
        h('span', {id: 'file-size', class: 'muted'}),
        h('button', {type: 'button', id: 'follow', class: 'btn', 'aria-pressed': 'true'}, 'Follow'),
        h('button', {type: 'button', id: 'earlier', class: 'btn', hidden: true}, 'Load earlier')),
      h('pre', {id: 'log', class: 'log', tabindex: 0, 'aria-label': 'Content of ' + rel})));
  if (rel) document.title = rel + ' of ' + task + ' · Marina master';

  // sandboxOf finds the executor's sandbox directory and the task's state in the agent's /state;
  // without them it falls back to <framework>/<executor>, relative to the agent's sandboxes,
  // where agents keep it, and an unknown state.
  function sandboxOf(st) {
    const find = ex => [ex.tasks, ex.queued_tasks, ex.completed_tasks].flatMap(ts => ts || []).find(t => t.id === task);
    for (const f of [...(st.frameworks || []), ...(st.completed_frameworks || [])]) {
      if (framework && f.id !== framework) continue;
      for (const ex of [...(f.executors || []), ...(f.completed_executors || [])]) {
        const t = find(ex);
        if (ex.directory && (ex.id === executor || t)) return {dir: ex.directory, state: t ? t.state : ''};
      }
    }
    return {dir: framework ? framework + '/' + executor : '', state: ''};
  }

  function crumbs() {
    const parts = rel ? rel.split('/') : [];
    const here = text => h('span', {'aria-current': 'page'}, text);
    M.replace($('crumbs'),
      h('li', {}, parts.length ? h('a', {href: link('')}, 'sandbox') : here('sandbox')),
      parts.map((p, i) => h('li', {}, i === parts.length - 1 ? here(p) : h('a', {href: link(parts.slice(0, i + 1).join('/'))}, p))));
  }

  function listing(entries) {
    const name = e => e.path.slice(e.path.lastIndexOf('/') + 1);
    const isDir = e => e.mode.startsWith('d');
    entries.sort((x, y) => (isDir(y) - isDir(x)) || name(x).localeCompare(name(y)));
    const rows = entries.map(e => ({
      key: e.path, sig: [e.size, e.mtime, e.mode].join(),
      cells: [
        h('a', {href: link((rel ? rel + '/' : '') + name(e)), class: 'mono'}, name(e) + (isDir(e) ? '/' : '')),
        h('span', {class: 'mono'}, e.mode), isDir(e) ? '' : C.bytes(e.size), C.time(e.mtime),
      ],
    }));
    if (rel) rows.unshift({key: '..', sig: '', cells: [h('a', {href: link(rel.split('/').slice(0, -1).join('/')), class: 'mono'}, '../'), '', '', '']});
    C.renderRows($('files'), rows, 'This directory is empty');
    $('listing').hidden = false;
  }

  // byteLength counts the bytes a page read from the agent stands for. The agent's JSON encoder
  // turns each byte that is not valid UTF-8 into U+FFFD, so that counts as one byte.
  function byteLength(s) {
    let n = 0;
    for (const ch of s) {
      const c = ch.codePointAt(0);
      n += c < 0x80 || c === 0xfffd ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    }
    return n;
  }

  // decode returns a page's text and the bytes it stands for. Replacement characters at its end
  // may be a character cut by the page's end: they are left for the next read, which then starts
  // at the character's first byte, unless the page holds nothing else.
  function decode(data) {
    const trimmed = data.replace(/\ufffd{1,3}$/, '');
    const text = trimmed.length ? trimmed : data;
    return {text, bytes: byteLength(text)};
  }

  // tail shows the last page of the file at abs, of size bytes, and follows it as it grows.
  function tail(abs, size) {
    const log = $('log'), follow = $('follow'), earlier = $('earlier');
    let start = Math.max(0, size - pageBytes), offset = start, idle = 0;
    const read = (off, len) => C.getJSON(base + '/files/read?' + new URLSearchParams({path: abs, offset: off, length: len}));
    const following = () => follow.getAttribute('aria-pressed') === 'true';
    const setFollow = on => {
      follow.setAttribute('aria-pressed', String(on));
      if (on) log.scrollTop = log.scrollHeight;
    };
    const showSize = () => {
      $('file-size').textContent = C.bytes(offset) + (start > 0 ? ' · shown from byte ' + start : '');
      earlier.hidden = start === 0;
    };
    const append = text => {
      log.append(document.createTextNode(text));
      if (log.textContent.length > maxShown) {
        const kept = log.textContent.slice(-maxShown / 2);
        log.textContent = kept;
        start = offset + byteLength(text) - byteLength(kept);
      }
      if (following()) log.scrollTop = log.scrollHeight;
    };

    follow.addEventListener('click', () => setFollow(!following()));
    log.addEventListener('scroll', () => {
      if (following() && log.scrollHeight - log.scrollTop - log.clientHeight > 40) setFollow(false);
    });
    earlier.addEventListener('click', async () => {
      const from = Math.max(0, start - pageBytes);
      try {
        const r = await read(from, start - from);
        const below = log.scrollHeight - log.scrollTop;
        log.prepend(document.createTextNode(r.data));
        log.scrollTop = log.scrollHeight - below;
        start = from;
        showSize();
        C.showError(null);
        if (start === 0) log.focus(); // the button is gone: keep the focus on the content
      } catch (e) {
        C.showError(C.describe(e));
      }
    });

    // pump reads what the file gained since the last read, a few pages at a time.
    const pump = async () => {
      for (let i = 0; i < 16; i++) {
        const r = await read(offset, pageBytes);
        const {text, bytes} = decode(r.data);
        if (bytes === 0) {
          if (++idle % 5 === 0) { // a file that shrank was truncated: start over
            const s = await read(-1, 0);
            if (s.offset < offset) {
              log.textContent = '';
              start = offset = 0;
            }
          }
          break;
        }
        idle = 0;
        append(text);
        offset += bytes;
        if (bytes < pageBytes / 2) break;
      }
      showSize();
    };
    $('viewer').hidden = false;
    setFollow(true);
    C.poll(pump, 1000);
  }

  async function main() {
    crumbs();
    if (!agent || !task) throw new Error('no task given: open a sandbox from the Tasks page');
    const st = await C.getJSON(base + '/state');
    const {dir} = sandboxOf(st);
    if (!dir) throw new Error('agent ' + agent + ' does not know the sandbox of task ' + task);
    // The line under the title: the task's state, kept current, and where its sandbox is.
    const where = st => C.replaceIfChanged($('where'), JSON.stringify([sandboxOf(st), st.hostname]), () => {
      const {state} = sandboxOf(st);
      return [state ? [C.badge(state), ' '] : '', 'On agent ', h('a', {href: C.agentURL(agent)}, st.hostname || agent),
        ' · framework ', h('span', {class: 'mono'}, framework || '?'), ' · ', h('span', {class: 'mono'}, dir)];
    });
    where(st);
    C.poll(async () => where(await C.getJSON(base + '/state')), 5000);
    const abs = rel ? dir + '/' + rel : dir;
    const browse = () => C.getJSON(base + '/files/browse?' + new URLSearchParams({path: abs}));
    const entries = await browse();
    const e0 = entries[0];
    if (entries.length === 1 && !e0.mode.startsWith('d') && (e0.path === abs || e0.path.endsWith('/' + abs))) {
      tail(abs, e0.size);
      return;
    }
    listing(entries);
    M.setLive(true);
    C.poll(async () => listing(await browse()), 3000);
  }

  main().catch(e => {
    M.setLive(false);
    C.showError(e instanceof C.HTTPError && e.status === 404
      ? C.describe(e) + ' The sandbox may have been removed from the agent.'
      : C.describe(e));
  });
})();
