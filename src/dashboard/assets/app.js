// The procstate dashboard's page. No framework and no build step: it ships as is and works
// offline. Every value that comes from a document or a ledger is put into the page as text
// (textContent, createTextNode, SVG text nodes), never as markup, so a field holding
// "<script>" shows as those characters.
'use strict';

(() => {
  const base = location.pathname.endsWith('/') ? location.pathname : `${location.pathname}/`;
  const view = document.getElementById('view');
  const live = document.getElementById('live');
  const SVG = 'http://www.w3.org/2000/svg';
  const TOKEN_KEY = 'procstate.token';
  let meta = null;
  let source = null;
  let render = 0;

  // ---- small DOM helpers: text only ------------------------------------------------------

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes ?? {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = String(value);
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children.flat()) if (child !== null && child !== undefined) node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    return node;
  }

  function svg(tag, attributes, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes ?? {})) {
      if (value === undefined || value === null) continue;
      if (name === 'text') node.textContent = String(value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children.flat()) if (child) node.append(child);
    return node;
  }

  // Links are built from encoded parts only; ids never become markup or a scheme.
  function procLink(kind, id, text) {
    return el('a', { href: `#/proc/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`, class: 'mono', text: text ?? id });
  }

  function listHref(kind, filters) {
    const query = new URLSearchParams(Object.entries(filters ?? {}).filter(([, value]) => value)).toString();
    return `#/kind/${encodeURIComponent(kind)}${query ? `?${query}` : ''}`;
  }

  function badge(status) {
    const node = el('span', { class: 'status', text: status ?? '—', 'data-status': status ?? '' });
    if (status) node.style.background = `var(--${status})`;
    return node;
  }

  function age(iso, until) {
    if (!iso) return '';
    const ms = (until ?? Date.now()) - Date.parse(iso);
    return duration(ms);
  }

  function duration(ms) {
    if (!Number.isFinite(ms) || ms < 0) return '';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(1)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
  }

  async function api(path, init) {
    const response = await fetch(`${base}api/${path}`, init);
    const body = await response.json().catch(() => ({ message: response.statusText }));
    if (!response.ok) {
      const error = new Error(body.message ?? response.statusText);
      error.status = response.status;
      error.name = body.error ?? 'Error';
      throw error;
    }
    return body;
  }

  function showError(error) {
    view.replaceChildren(el('div', { class: 'notice error', role: 'alert', 'data-error': error.name, text: `${error.name}: ${error.message}` }), el('p', {}, el('a', { href: '#/', text: 'Back to the overview' })));
  }

  function stream(query, handlers) {
    if (source) source.close();
    source = new EventSource(`${base}api/events${query ? `?${query}` : ''}`);
    live.textContent = 'connecting…';
    live.classList.remove('on');
    source.addEventListener('open', () => {
      live.textContent = 'live';
      live.classList.add('on');
    });
    source.addEventListener('error', () => {
      live.textContent = 'reconnecting…';
      live.classList.remove('on');
    });
    for (const [event, handler] of Object.entries(handlers)) source.addEventListener(event, (message) => handler(JSON.parse(message.data)));
  }

  // ---- overview ---------------------------------------------------------------------------

  function overviewView() {
    const cards = el('div', { class: 'cards', id: 'kind-cards' });
    const processing = el('div', { id: 'processing' });
    const stuck = el('div', { id: 'stuck' });
    view.replaceChildren(el('h1', { text: 'Overview' }), cards, el('h2', { text: 'Stuck' }), stuck, el('h2', { text: 'Processing' }), processing);
    const draw = (overview) => {
      cards.replaceChildren(...overview.kinds.map(kindCard));
      stuck.replaceChildren(
        overview.stuck.length === 0
          ? el('p', { class: 'muted', text: `Nothing has been processing for longer than ${duration(overview.stuckAfterMs)}.` })
          : processingTable(overview.stuck),
      );
      processing.replaceChildren(overview.processing.length === 0 ? el('p', { class: 'muted', text: 'Nothing is processing.' }) : processingTable(overview.processing));
      view.dataset.updated = String(Date.now());
    };
    api('overview').then(draw, showError);
    stream('', { overview: draw });
  }

  function kindCard(kind) {
    const bar = el('div', { class: 'bar' });
    for (const status of meta.statuses) {
      const count = kind.counts[status];
      if (!count) continue;
      const part = el('span', { title: `${status}: ${count}` });
      part.style.width = `${(100 * count) / kind.total}%`;
      part.style.background = `var(--${status})`;
      bar.append(part);
    }
    return el(
      'section',
      { class: 'card', 'data-kind': kind.name },
      el('div', {}, el('a', { href: listHref(kind.name), text: kind.name, class: 'kind-name' }), kind.parent ? el('span', { class: 'muted', text: ` · child of ${kind.parent}` }) : null, el('span', { class: 'muted', text: ` · ${kind.total} procs` })),
      bar,
      countCells(kind.name, kind.counts, {}),
    );
  }

  // A kind's procs by status, each number linking to the list of those procs (under `filters`).
  function countCells(kind, counts, filters) {
    return el(
      'div',
      { class: 'counts' },
      meta.statuses.map((status) => {
        const cell = el('a', { class: 'count', href: listHref(kind, { ...filters, status }), 'data-count': `${kind}:${status}` }, el('b', { text: counts[status] }), el('small', { text: status }));
        cell.style.borderLeftColor = `var(--${status})`;
        return cell;
      }),
    );
  }

  function processingTable(rows) {
    return el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ['kind', 'id', 'status', 'process', 'step', 'for'].map((name) => el('th', { text: name })))),
      el('tbody', {}, rows.map((row) => el('tr', {}, el('td', { text: row.kind }), el('td', {}, procLink(row.kind, row.id)), el('td', {}, badge(row.status)), el('td', { text: row.process ?? '' }), el('td', { text: row.step ?? '' }), el('td', { text: age(row.since) })))),
    );
  }

  // ---- a kind's list ----------------------------------------------------------------------

  function listView(kind, params) {
    const filters = { status: params.get('status') ?? '', parent: params.get('parent') ?? '', prefix: params.get('prefix') ?? '' };
    const known = meta.kinds.find((candidate) => candidate.name === kind);
    const status = el('select', { name: 'status' }, el('option', { value: '', text: 'any status' }), meta.statuses.map((name) => el('option', { value: name, text: name, selected: filters.status === name ? 'selected' : undefined })));
    const prefix = el('input', { name: 'prefix', placeholder: 'id starts with', value: filters.prefix, maxlength: 512 });
    const parent = el('input', { name: 'parent', placeholder: known?.parent ? `${known.parent.kind} id` : 'no parent kind', value: filters.parent, disabled: known?.parent ? undefined : 'disabled', maxlength: 512 });
    const form = el(
      'form',
      {
        class: 'filters',
        onsubmit: (event) => {
          event.preventDefault();
          location.hash = listHref(kind, { status: status.value, prefix: prefix.value, parent: parent.value });
        },
      },
      el('label', {}, 'Status', status),
      el('label', {}, 'Id prefix', prefix),
      el('label', {}, 'Parent', parent),
      el('button', { type: 'submit', text: 'Filter' }),
    );
    const table = el('tbody', { id: 'list-rows' });
    const more = el('button', { type: 'button', text: 'Next page', id: 'next-page' });
    let after = params.get('after') ?? '';
    const load = () => {
      const query = new URLSearchParams(Object.entries({ ...filters, after, limit: '50' }).filter(([, value]) => value));
      api(`kinds/${encodeURIComponent(kind)}/procs?${query}`).then((page) => {
        for (const row of page.rows) {
          table.append(el('tr', { 'data-id': row.id }, el('td', {}, procLink(kind, row.id)), el('td', {}, badge(row.status)), el('td', { text: row.process ?? '' }), el('td', { text: row.step ?? '' }), el('td', { text: row.message ?? '' }), el('td', { text: age(row.since) })));
        }
        if (page.rows.length === 0 && table.children.length === 0) table.append(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'No procs match.' })));
        after = page.next ?? '';
        more.hidden = page.next === null;
      }, showError);
    };
    more.addEventListener('click', load);
    view.replaceChildren(
      el('h1', {}, `${kind}`, filters.parent && known?.parent ? el('span', { class: 'muted', text: ` of ${known.parent.kind} ` }) : null, filters.parent && known?.parent ? procLink(known.parent.kind, filters.parent) : null),
      form,
      el('table', {}, el('thead', {}, el('tr', {}, ['id', 'status', 'process', 'step', 'message', 'since'].map((name) => el('th', { text: name })))), table),
      el('p', {}, more),
    );
    if (source) source.close();
    live.textContent = '';
    load();
  }

  // ---- a proc -----------------------------------------------------------------------------

  function procView(kind, id) {
    // The actions panel is made once per proc view, so that redraws on live updates keep what
    // the user typed into it.
    const state = { page: null, step: null, playing: null, actions: null };
    const current = ++render;
    const load = () =>
      api(`procs/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`).then((page) => {
        if (current !== render) return;
        const atEnd = state.page === null || state.step === null || state.step === state.page.ledger.length - 1;
        state.page = page;
        if (atEnd) state.step = null;
        draw();
      }, showError);
    const draw = () => drawProc(kind, id, state);
    load();
    stream(new URLSearchParams({ kind, id }).toString(), {
      proc: (message) => {
        if (state.page === null || message.seq !== state.page.document.sync_counter) load();
        if (message.inspection) live.textContent = `live · ${message.inspection}`;
      },
    });
  }

  function drawProc(kind, id, state) {
    const { page } = state;
    const ledger = page.ledger;
    const step = state.step ?? ledger.length - 1;
    const document = page.document;
    const header = el('div', {}, el('h1', {}, `${kind} `, el('span', { class: 'mono', text: id }), ' ', badge(page.status)));
    if (page.parent) header.append(el('p', {}, 'Child of ', el('span', { text: `${page.parent.kind} ` }), procLink(page.parent.kind, page.parent.id)));
    const summary = el(
      'p',
      { class: 'muted' },
      `process ${document.current_process ?? '—'} · step ${document.current_process_step ?? '—'} · `,
      el('span', { text: document.last_status_message ?? '' }),
    );

    // Replay: step through the ledger on the diagram.
    const position = el('span', { class: 'mono', id: 'replay-position', 'data-replay-seq': ledger[step]?.seq ?? '' });
    position.textContent = `record ${step + 1} of ${ledger.length} (seq ${ledger[step]?.seq ?? '—'}, ${ledger[step]?.cause ?? ''})`;
    const go = (to) => {
      state.step = Math.max(0, Math.min(ledger.length - 1, to));
      if (state.step === ledger.length - 1) state.step = null;
      drawProc(kind, id, state);
    };
    const play = () => {
      if (state.playing) {
        clearInterval(state.playing);
        state.playing = null;
        drawProc(kind, id, state);
        return;
      }
      if (step === ledger.length - 1) state.step = 0;
      state.playing = setInterval(() => {
        const next = (state.step ?? ledger.length - 1) + 1;
        if (next >= ledger.length) {
          clearInterval(state.playing);
          state.playing = null;
        }
        go(next);
      }, 700);
      drawProc(kind, id, state);
    };
    const replay = el(
      'div',
      { class: 'replay' },
      el('button', { type: 'button', id: 'replay-first', text: '⏮ first', onclick: () => go(0) }),
      el('button', { type: 'button', id: 'replay-back', text: '◀ back', onclick: () => go(step - 1), disabled: step === 0 ? 'disabled' : undefined }),
      el('button', { type: 'button', id: 'replay-play', text: state.playing ? '⏸ pause' : '▶ play', onclick: play }),
      el('button', { type: 'button', id: 'replay-next', text: 'next ▶', onclick: () => go(step + 1), disabled: step === ledger.length - 1 ? 'disabled' : undefined }),
      el('button', { type: 'button', id: 'replay-last', text: 'last ⏭', onclick: () => go(ledger.length - 1) }),
      position,
    );

    const children = page.children.length === 0 ? null : el('div', {}, el('h2', { text: 'Children' }), page.children.map((child) => childCounts(child, id)));
    const problems = el(
      'div',
      {},
      (document.errors ?? []).length > 0 ? el('div', {}, el('h2', { text: 'Errors' }), el('ul', { id: 'errors' }, document.errors.map((text) => el('li', { class: 'bad', text: String(text) })))) : null,
      (document.warnings ?? []).length > 0 ? el('div', {}, el('h2', { text: 'Warnings' }), el('ul', { id: 'warnings' }, document.warnings.map((text) => el('li', { text: String(text) })))) : null,
    );
    view.replaceChildren(
      header,
      summary,
      el('div', { class: 'grid2' }, el('div', {}, el('div', { class: 'diagram', id: 'diagram' }, diagram(ledger, step)), replay), el('div', {}, children, problems, (state.actions ??= actionsPanel(kind, id, page)))),
      el('h2', { text: `Ledger (${ledger.length}${page.ledgerTruncated ? '+' : ''} records)` }),
      ledgerTable(ledger, step, page.status),
      el('h2', { text: 'Document' }),
      el('pre', { id: 'document', class: 'mono', text: JSON.stringify(document, null, 2) }),
    );
    view.dataset.updated = String(Date.now());
  }

  function childCounts(child, parentId) {
    return el(
      'section',
      { class: 'card', 'data-children': child.kind },
      el('a', { href: listHref(child.kind, { parent: parentId }), text: child.kind }),
      countCells(child.kind, child.counts, { parent: parentId }),
    );
  }

  // The machine with this proc's path: boxes the proc has been in, edges it took (up to the
  // replay's step), the status at the step highlighted, the step's own edge in orange.
  function diagram(ledger, step) {
    const layout = meta.layout;
    const shown = ledger.slice(0, step + 1);
    const at = shown[shown.length - 1];
    const visited = new Set(shown.map((record) => record.to).filter(Boolean));
    const taken = new Map();
    for (const record of shown) {
      if (record.from === null || record.to === null) continue;
      const key = `${record.from}>${record.to}`;
      const events = taken.get(key) ?? new Map();
      events.set(record.cause, (events.get(record.cause) ?? 0) + 1);
      taken.set(key, events);
    }
    const stepKey = at && at.from !== null && at.to !== null ? `${at.from}>${at.to}` : null;
    const root = svg('svg', { viewBox: `0 0 ${layout.width} ${layout.height}`, role: 'img', 'aria-label': 'The proc machine with this proc’s path' });
    root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#98a2b3' }))));
    for (const edge of layout.edges) {
      const key = `${edge.from}>${edge.to}`;
      const events = taken.get(key);
      const classes = ['edge', events ? 'taken' : '', key === stepKey ? 'step' : ''].filter(Boolean).join(' ');
      const points = edge.points;
      const d =
        edge.from === edge.to && points.length === 4
          ? `M${points[0].x},${points[0].y} C${points[1].x},${points[1].y} ${points[2].x},${points[2].y} ${points[3].x},${points[3].y}`
          : points.map((point, index) => `${index === 0 ? 'M' : 'L'}${point.x},${point.y}`).join(' ');
      const group = svg('g', { class: classes, 'data-edge': key, 'data-taken': events ? [...events.values()].reduce((a, b) => a + b, 0) : 0 }, svg('path', { d, 'marker-end': 'url(#arrow)' }));
      const lines = edge.events.length;
      edge.events.forEach((event, index) => {
        const count = events?.get(event.event) ?? 0;
        const isStep = key === stepKey && at.cause === event.event;
        const text = svg('text', { x: edge.label.x, y: edge.label.y + (index - (lines - 1) / 2) * 13 + 4, 'text-anchor': 'middle', class: [count ? 'taken' : '', isStep ? 'step' : ''].join(' ').trim(), 'data-event': event.event });
        text.textContent = count > 1 ? `${event.event} ×${count}` : event.event;
        if (event.guard) text.append(svg('title', { text: `guard: ${event.guard}` }));
        group.append(text);
      });
      root.append(group);
    }
    for (const node of layout.nodes) {
      const isCurrent = at && node.id === at.to;
      const group = svg('g', { class: ['node', isCurrent ? 'current' : '', visited.has(node.id) ? 'visited' : ''].join(' ').trim(), 'data-node': node.id });
      const rect = svg('rect', { x: node.x - node.width / 2, y: node.y - node.height / 2, width: node.width, height: node.height, rx: 9 });
      if (isCurrent) {
        rect.style.stroke = `var(--${node.id})`;
        rect.style.fill = '#fff';
      }
      group.append(rect, svg('text', { x: node.x, y: node.y + 4, 'text-anchor': 'middle', text: node.id }));
      root.append(group);
    }
    return root;
  }

  function ledgerTable(ledger, step, status) {
    return el(
      'table',
      { id: 'ledger' },
      el('thead', {}, el('tr', {}, ['seq', 'at', 'from → to', 'cause', 'worker', 'run', 'in status', 'errors', 'replays'].map((name) => el('th', { text: name })))),
      el(
        'tbody',
        {},
        ledger.map((record, index) => {
          const next = ledger[index + 1];
          const stillThere = next === undefined && ['PENDING', 'RUNNING', 'WAITING_FOR_RESULT'].includes(status);
          const inStatus = next ? duration(Date.parse(next.at) - Date.parse(record.at)) : stillThere ? `${age(record.at)} so far` : '';
          return el(
            'tr',
            { 'data-seq': record.seq, class: index === step ? 'at-step' : undefined },
            el('td', { class: 'mono', text: record.seq }),
            el('td', { class: 'mono', text: record.at.replace('T', ' ').replace('Z', '') }),
            el('td', {}, record.from ?? '∅', ' → ', record.to ?? '∅'),
            el('td', { class: 'mono', text: record.cause }),
            el('td', { class: 'mono', text: record.worker ?? '' }),
            el('td', { class: 'mono', text: record.run ?? '' }),
            el('td', { text: inStatus }),
            el('td', { class: 'bad', text: record.errors.join('; ') }),
            el('td', { class: record.consistent ? '' : 'bad', text: record.consistent ? '✓' : '✗ not a transition of the machine' }),
          );
        }),
      ),
    );
  }

  // ---- actions ----------------------------------------------------------------------------

  function actionsPanel(kind, id, page) {
    if (!meta.actions) return el('div', { class: 'card', id: 'actions' }, el('h2', { text: 'Actions' }), el('p', { class: 'muted', text: 'Read-only: the dashboard was started without an admin token or without a runtime.' }));
    const token = el('input', { type: 'password', id: 'token', placeholder: 'admin token', autocomplete: 'off', value: sessionStorage.getItem(TOKEN_KEY) ?? '' });
    const result = el('div', { id: 'action-result' });
    const process = el('select', { id: 'call-process' }, page.processes.map((name) => el('option', { value: name, text: name })));
    const args = el('input', { id: 'call-args', placeholder: 'arguments as JSON (optional)' });
    const force = el('input', { type: 'checkbox', id: 'reset-force' });
    const run = async (action, body, question) => {
      if (question && !window.confirm(question)) return;
      sessionStorage.setItem(TOKEN_KEY, token.value);
      try {
        const proc = await api(`procs/${encodeURIComponent(kind)}/${encodeURIComponent(id)}/${action}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-procstate-token': token.value },
          body: JSON.stringify(body),
        });
        result.replaceChildren(el('div', { class: 'notice', 'data-result': 'ok', text: `${action}: now ${proc.process_status} (seq ${proc.seq})` }));
      } catch (error) {
        result.replaceChildren(el('div', { class: 'notice error', role: 'alert', 'data-result': error.name, text: `${error.name}: ${error.message}` }));
      }
    };
    const call = () => {
      let parsed;
      if (args.value.trim() !== '') {
        try {
          parsed = JSON.parse(args.value);
        } catch {
          result.replaceChildren(el('div', { class: 'notice error', text: 'The arguments are not valid JSON.' }));
          return;
        }
      }
      run('call', parsed === undefined ? { process: process.value } : { process: process.value, args: parsed });
    };
    return el(
      'div',
      { class: 'card actions', id: 'actions' },
      el('h2', { text: 'Actions' }),
      el('label', {}, 'Admin token', token),
      el('div', { class: 'row' }, el('label', {}, 'Process', process), el('label', {}, 'Arguments', args), el('button', { type: 'button', id: 'do-call', text: 'Call', onclick: call })),
      el(
        'div',
        { class: 'row' },
        el('label', {}, el('span', { text: 'force (also while processing)' }), force),
        el('button', { type: 'button', class: 'danger', id: 'do-reset', text: 'Reset', onclick: () => run('reset', { force: force.checked }, `Reset ${kind} ${id}${force.checked ? ' even if it is processing' : ''}?`) }),
        el('button', { type: 'button', class: 'danger', id: 'do-terminate', text: 'Terminate', onclick: () => run('terminate', {}, `Terminate ${kind} ${id}? Its run is stopped and it fails.`) }),
      ),
      result,
    );
  }

  // ---- routing ----------------------------------------------------------------------------

  function route() {
    render += 1;
    // Nothing of the previous view stays clickable while the next one loads.
    view.replaceChildren(el('p', { class: 'muted', id: 'loading', text: 'Loading…' }));
    const hash = location.hash.replace(/^#/, '') || '/';
    const [path, queryText] = hash.split('?');
    const parts = path.split('/').filter(Boolean).map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
    const params = new URLSearchParams(queryText ?? '');
    if (parts[0] === 'kind' && parts.length === 2) return listView(parts[1], params);
    if (parts[0] === 'proc' && parts.length === 3) return procView(parts[1], parts[2]);
    return overviewView();
  }

  api('meta').then((loaded) => {
    meta = loaded;
    document.getElementById('kinds-nav').replaceChildren(...meta.kinds.map((kind) => el('a', { href: listHref(kind.name), text: kind.name })));
    window.addEventListener('hashchange', route);
    route();
  }, showError);
})();
