// The studioflow page: starts compilations, shows the tasks and the
// machine, live (polls every second). No framework, no external files.
'use strict';

const TOKEN_KEY = 'studioflow-token';
const $ = (id) => document.getElementById(id);
const terminal = (s) => s === 'completed' || s === 'error' || s === 'cancelled';
const rows = new Map();  // task id -> its element, kept so players are not reloaded

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token()) headers['Authorization'] = 'Bearer ' + token();
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) {
    $('auth').hidden = false;
    throw new Error(token() ? 'wrong token' : 'this server needs a token');
  }
  return res;
}

async function json(path, options) {
  const res = await api(path, options);
  let body = null;
  try { body = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok) {
    const msg = body && body.error ? (typeof body.error === 'string' ? body.error : body.error.message) : res.statusText;
    throw new Error(msg || ('HTTP ' + res.status));
  }
  return body;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function seconds(s) {
  if (s == null || !isFinite(s)) return '';
  s = Math.max(0, Math.round(s));
  const m = Math.floor(s / 60);
  return m > 0 ? m + ' min ' + (s % 60) + ' s' : s + ' s';
}

function numberField(id) {
  const v = $(id).value.trim();
  return v === '' ? undefined : Number(v);
}

$('create').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const msg = $('create-msg');
  const urls = $('urls').value.split('\n').map((s) => s.trim()).filter(Boolean);
  const words = $('words').value.split(',').map((s) => s.trim()).filter(Boolean);
  const body = { url: urls.length === 1 ? urls[0] : urls, target_words: words, match: $('match').value };
  for (const f of ['padding_before', 'padding_after', 'merge_gap', 'max_length', 'max_clips', 'min_confidence']) {
    const v = numberField(f);
    if (v !== undefined) body[f] = v;
  }
  body.targeted = $('targeted').checked;
  $('submit').disabled = true;
  msg.className = 'msg';
  msg.textContent = 'starting…';
  try {
    const r = await json('/create_compilation', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    msg.textContent = 'started task ' + r.task_id.slice(0, 8);
    refresh();
  } catch (e) {
    msg.className = 'msg err';
    msg.textContent = e.message;
  } finally {
    $('submit').disabled = false;
  }
});

$('auth-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value);
  $('auth').hidden = true;
  refresh();
});

async function cancel(id, compileFound) {
  try {
    await json('/cancel/' + id, compileFound
      ? { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ early_termination: true }) }
      : { method: 'POST' });
  } catch (e) {
    alert('cancel: ' + e.message);
  }
  refresh();
}

async function attachVideo(row, id) {
  const video = el('video', { controls: '', preload: 'metadata', 'data-task': id });
  row.querySelector('.player').append(video);
  if (!token()) {
    video.src = '/download/' + id;  // range requests straight from the server
    return;
  }
  // <video> cannot send a bearer header: fetch the file, play it from memory.
  const res = await api('/download/' + id);
  if (res.ok) video.src = URL.createObjectURL(await res.blob());
}

function progressOf(t) {
  if (t.status === 'completed') return 100;
  const tp = Number(t.transcription_progress) || 0;
  const render = t.render_total > 0 ? t.render_done / t.render_total : 0;
  return Math.min(100, tp * 0.8 + render * 20);
}

function renderTask(t) {
  let row = rows.get(t.task_id);
  if (!row) {
    row = el('div', { class: 'task', 'data-task': t.task_id },
      el('div', {},
        el('div', { class: 'title' }),
        el('div', { class: 'line' }),
        el('div', { class: 'bar' }, el('div', { style: 'width:0%' })),
        el('div', { class: 'errors' }),
        el('div', { class: 'player' })),
      el('div', { class: 'actions' },
        el('button', { class: 'secondary stop', title: 'stop transcribing and compile the clips found so far',
                       onclick: () => cancel(t.task_id, true) }, 'Stop & compile found'),
        el('button', { class: 'secondary cancel', onclick: () => cancel(t.task_id, false) }, 'Cancel')));
    rows.set(t.task_id, row);
  }
  const words = (t.target_words || []).join(', ');
  row.querySelector('.title').textContent = (t.video_title || t.task_id) + (words ? ' — “' + words + '”' : '');
  const line = row.querySelector('.line');
  line.replaceChildren(
    el('span', { class: 'badge ' + t.status }, t.status),
    ' ', t.stage ? 'stage: ' + t.stage : '',
    ' · ', t.status === 'completed' ? 'transcribed' : (t.transcription_progress || 0).toFixed(1) + '% transcribed',
    ' · ', (t.words_found || 0) + ' found',
    t.clips_total ? ' · clips ' + t.clips_downloaded + '/' + t.clips_total : '',
    !terminal(t.status) && t.eta != null ? ' · ETA ' + seconds(t.eta) : '');
  row.querySelector('.bar > div').style.width = progressOf(t).toFixed(1) + '%';
  row.querySelector('.errors').textContent = (t.errors || []).map((e) => typeof e === 'string' ? e : JSON.stringify(e)).join('; ');
  for (const b of row.querySelectorAll('.actions button')) b.hidden = terminal(t.status);
  if (t.status === 'completed' && t.compilation_path && !row.querySelector('video')) attachVideo(row, t.task_id);
  return row;
}

async function refreshTasks() {
  const r = await json('/tasks');
  const box = $('tasks');
  const tasks = r.tasks || [];
  if (tasks.length === 0) return;
  const wanted = tasks.map(renderTask);
  if (wanted.length !== box.children.length || wanted.some((row, i) => box.children[i] !== row)) box.replaceChildren(...wanted);
}

function gib(bytes) { return (bytes / 1073741824).toFixed(1) + ' GiB'; }

async function refreshSystem() {
  const s = await json('/system');
  const parts = [el('p', {}, 'Engine: ', el('b', {}, s.model))];
  const w = s.workers;
  if (w) {
    const wp = w.worker_processes || {};
    parts.push(el('p', {}, el('span', { class: 'dot ' + (wp.healthy === wp.total && wp.total > 0 ? 'ok' : 'bad') }),
      `workers ${wp.healthy}/${wp.total} healthy, ${wp.restarted} restarted`,
      ` · segments: ${w.pipeline_stages.transcription.active} active, ${w.pipeline_stages.transcription.queued} queued, ` +
      `${w.pipeline_stages.transcription.completed} done`));
    const models = Object.entries(w.models_per_gpu || {}).map(([k, v]) => `${k}: ${v}`).join(', ');
    parts.push(el('p', {}, 'Models per device: ' + (models || 'none')));
  } else {
    parts.push(el('p', {}, 'Engines run inside the server process (no worker pool).'));
  }
  if (s.gpus.length) {
    const table = el('table', {}, el('tr', {}, el('th', {}, 'GPU'), el('th', {}, 'utilization'), el('th', {}, 'memory'), el('th', {}, 'temp')));
    for (const g of s.gpus) {
      table.append(el('tr', {}, el('td', {}, g.index + ' ' + g.name),
        el('td', {}, g.utilization_percent != null ? g.utilization_percent + '%' : '–'),
        el('td', {}, g.memory_total_bytes ? gib(g.memory_used_bytes) + ' / ' + gib(g.memory_total_bytes) : '–'),
        el('td', {}, g.temperature_celsius != null ? g.temperature_celsius + ' °C' : '–')));
    }
    parts.push(table);
  } else {
    parts.push(el('p', { class: 'muted' }, 'No GPU: ' + (s.cuda_status || 'none found')));
  }
  $('system-body').className = '';
  $('system-body').replaceChildren(...parts);
}

let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  try {
    await Promise.all([refreshTasks(), refreshSystem()]);
    $('conn').textContent = 'live · ' + new Date().toLocaleTimeString();
  } catch (e) {
    $('conn').textContent = 'not connected: ' + e.message;
  } finally {
    busy = false;
  }
}

refresh();
setInterval(refresh, 1000);
