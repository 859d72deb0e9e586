// A task's sandbox: its files, and any file's content with a live tail. Everything is read
// through the master's agent proxy, /agent/{id}/..., so the browser never reaches the agent.
'use strict';

(() => {
  const C = window.Console;
  const {el} = C;
  const $ = id => document.getElementById(id);

  const agent = C.param('agent'), framework = C.param('framework'), task = C.param('task');
  const executor = C.param('executor') || task;
  const rel = C.param('path').split('/').filter(s => s && s !== '.' && s !== '..').join('/');
  const base = '/agent/' + encodeURIComponent(agent);
  const pageBytes = 64 * 1024; // one read of the tail
  const maxShown = 2 * 1024 * 1024; // characters kept on the page; older ones are dropped

  const link = path => {
    const q = new URLSearchParams({agent, framework, executor, task});
    if (path) q.set('path', path);
    return '/console/sandbox?' + q.toString();
  };

  function fail(e) {
    const msg = e instanceof C.HTTPError && e.status === 404
      ? 'Not found: ' + e.message + '. The sandbox may have been removed from the agent.'
      : C.describe(e);
    $('error').textContent = msg;
    $('error').hidden = false;
  }
  const clearError = () => { $('error').hidden = true; };

  // directoryOf finds the executor's sandbox directory in the agent's /state; without one it
  // falls back to <framework>/<executor>, relative to the agent's sandboxes.
  function directoryOf(st) {
    const runs = ex => [ex.tasks, ex.queued_tasks, ex.completed_tasks].some(ts => (ts || []).some(t => t.id === task));
    for (const f of [...(st.frameworks || []), ...(st.completed_frameworks || [])]) {
      if (framework && f.id !== framework) continue;
      for (const ex of [...(f.executors || []), ...(f.completed_executors || [])]) {
        if (ex.directory && (ex.id === executor || runs(ex))) return ex.directory;
      }
    }
    return framework ? framework + '/' + executor : '';
  }

  function crumbs() {
    const parts = rel ? rel.split('/') : [];
    const items = [el('li', {}, parts.length ? el('a', {href: link('')}, 'sandbox') : el('span', {'aria-current': 'page'}, 'sandbox'))];
    parts.forEach((p, i) => {
      const path = parts.slice(0, i + 1).join('/');
      items.push(el('li', {}, i === parts.length - 1 ? el('span', {'aria-current': 'page'}, p) : el('a', {href: link(path)}, p)));
    });
    $('crumbs').replaceChildren(...items);
  }

  function listing(abs, entries) {
    const name = e => e.path.slice(e.path.lastIndexOf('/') + 1);
    const isDir = e => e.mode.startsWith('d');
    entries.sort((x, y) => (isDir(y) - isDir(x)) || name(x).localeCompare(name(y)));
    const rows = entries.map(e => ({
      key: e.path, sig: [e.size, e.mtime, e.mode].join(),
      cells: [
        el('a', {href: link((rel ? rel + '/' : '') + name(e)), class: isDir(e) ? 'dir' : 'file'}, name(e) + (isDir(e) ? '/' : '')),
        el('span', {class: 'mono'}, e.mode), isDir(e) ? '' : C.fmtBytes(e.size), C.time(e.mtime),
      ],
    }));
    if (rel) {
      const up = rel.split('/').slice(0, -1).join('/');
      rows.unshift({key: '..', sig: '', cells: [el('a', {href: link(up), class: 'dir'}, '../'), '', '', '']});
    }
    C.renderRows($('files'), rows, 'This directory is empty');
    $('listing').hidden = false;
  }

  // byteLength counts the bytes of a page read from the agent. Its JSON encoder turns each byte
  // that is not valid UTF-8 into U+FFFD, so that counts as one byte.
  function byteLength(s) {
    let n = 0;
    for (const ch of s) {
      const c = ch.codePointAt(0);
      n += c < 0x80 || c === 0xfffd ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    }
    return n;
  }

  // decode returns a page's text and the bytes it stands for. Replacement characters at its end
  // may be a character cut by the page's end: they are left for the next read, which starts at
  // their first byte, unless the page holds nothing else.
  function decode(data) {
    const trimmed = data.replace(/\ufffd{1,3}$/, '');
    const text = trimmed.length ? trimmed : data;
    return {text, bytes: byteLength(text)};
  }

  // tail shows a file's last page and follows it as it grows.
  function tail(abs, size) {
    const log = $('log'), follow = $('follow'), earlier = $('earlier');
    let start = Math.max(0, size - pageBytes), offset = start, idle = 0;
    const read = (off, len) => C.getJSON(base + '/files/read?' + new URLSearchParams({path: abs, offset: off, length: len}));
    const following = () => follow.getAttribute('aria-pressed') === 'true';
    const setFollow = on => {
      follow.setAttribute('aria-pressed', String(on));
      follow.textContent = on ? 'Following' : 'Follow';
      if (on) log.scrollTop = log.scrollHeight;
    };
    const showSize = () => {
      $('file-size').textContent = C.fmtBytes(offset) + (start > 0 ? ' · from byte ' + start : '');
      earlier.hidden = start === 0;
    };
    const append = text => {
      log.append(document.createTextNode(text));
      if (log.textContent.length > maxShown) {
        const kept = log.textContent.slice(-maxShown / 2);
        log.textContent = kept;
        start = offset - byteLength(kept);
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
        const top = log.scrollHeight - log.scrollTop;
        log.prepend(document.createTextNode(r.data));
        log.scrollTop = log.scrollHeight - top;
        start = from;
        showSize();
        if (start === 0) log.focus(); // the button disappears; keep the focus on the content
      } catch (e) {
        fail(e);
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
      clearError();
      C.setStatus('Live · tailing ' + abs.slice(abs.lastIndexOf('/') + 1), false);
    };
    setFollow(true);
    $('viewer').hidden = false;
    C.poll(pump, 1000);
  }

  async function main() {
    crumbs();
    if (!agent || !task) {
      fail(new Error('no task given: open a sandbox from the Tasks page'));
      return;
    }
    $('task-name').textContent = task;
    document.title = (rel ? rel + ' · ' : '') + task + ' · Marina master';
    let st;
    try {
      st = await C.getJSON(base + '/state');
    } catch (e) {
      fail(e);
      C.setStatus(C.describe(e), true);
      return;
    }
    const dir = directoryOf(st);
    if (!dir) {
      fail(new Error('the agent does not know the sandbox of task ' + task));
      return;
    }
    $('where').replaceChildren('On agent ', el('a', {href: '/console/agents#' + encodeURIComponent(agent)}, st.hostname || agent),
      ' · framework ', el('span', {class: 'mono'}, framework || '?'), ' · ', el('span', {class: 'mono'}, dir));
    const abs = rel ? dir + '/' + rel : dir;
    let entries;
    try {
      entries = await C.getJSON(base + '/files/browse?' + new URLSearchParams({path: abs}));
    } catch (e) {
      fail(e);
      C.setStatus(C.describe(e), true);
      return;
    }
    const e0 = entries[0];
    if (entries.length === 1 && !e0.mode.startsWith('d') && (e0.path === abs || e0.path.endsWith('/' + abs))) {
      $('file-name').textContent = rel;
      tail(abs, e0.size);
      return;
    }
    listing(abs, entries);
    C.setStatus('Live · ' + (st.hostname || agent), false);
    C.poll(async () => {
      listing(abs, await C.getJSON(base + '/files/browse?' + new URLSearchParams({path: abs})));
      clearError();
    }, 3000);
  }

  main();
})();
