// Loupe explorer: the page's only script. It draws what the JSON API under /api/v1/ answers and computes nothing
// of its own beyond colours and layout.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get('token');
  const state = { models: [], model: null, interventions: [], seq: 0, run: null, trajectory: null, attention: null };
  let debounce = null;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(x, digits) { return (x === null || x === undefined) ? '' : Number(x).toFixed(digits === undefined ? 3 : digits); }
  function status(text, error) { const s = $('status'); s.textContent = text; s.className = error ? 'error' : ''; }

  function headers() {
    const h = { 'Content-Type': 'application/json' };
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }
  async function api(route, body) {
    const response = await fetch('/api/v1/' + route, body === undefined ? { headers: headers() }
      : { method: 'POST', headers: headers(), body: JSON.stringify(body) });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || ('HTTP ' + response.status));
    return data;
  }

  // ---- the prompt --------------------------------------------------------------------------------------------
  function prompt() {
    const value = $('prompt').value;
    if (state.model.tokenizer) return { text: value };
    const ids = value.split(/[\s,]+/).filter((s) => s.length > 0).map(Number);
    if (ids.some((n) => !Number.isInteger(n))) throw new Error('token ids are whole numbers separated by spaces or commas');
    return { tokens: ids };
  }
  function corrupted() {
    const value = $('patch-corrupted').value;
    if (state.model.tokenizer) return { text: value };
    return { tokens: value.split(/[\s,]+/).filter((s) => s.length > 0).map(Number) };
  }
  function randomRepeated() {
    const m = state.model;
    const n = Math.min(31, Math.floor((m.nCtx - 2) / 2));
    const segment = [];
    for (let i = 0; i < n; i++) segment.push(1 + Math.floor(Math.random() * (m.dVocab - 1)));
    return [0].concat(segment, segment);
  }
  function base() { return { model: state.model.name }; }
  function withInterventions(body) {
    if (state.interventions.length > 0) body.interventions = state.interventions;
    return body;
  }

  // ---- colours -----------------------------------------------------------------------------------------------
  function heat(value, max) {
    const t = Math.max(0, Math.min(1, max > 0 ? value / max : 0));
    return 'rgb(' + Math.round(255 - 200 * t) + ',' + Math.round(255 - 140 * t) + ',255)';
  }
  function diverging(value, max) {
    const t = Math.max(-1, Math.min(1, max > 0 ? value / max : 0));
    return t >= 0 ? 'rgb(' + Math.round(255 - 180 * t) + ',' + Math.round(255 - 120 * t) + ',255)'
      : 'rgb(255,' + Math.round(255 + 160 * t) + ',' + Math.round(255 + 160 * t) + ')';
  }
  function tooltip(node, text) {
    node.addEventListener('mouseenter', (e) => { const t = $('tooltip'); t.textContent = text; t.hidden = false; move(e); });
    node.addEventListener('mousemove', move);
    node.addEventListener('mouseleave', () => { $('tooltip').hidden = true; });
  }
  function move(e) { const t = $('tooltip'); t.style.left = (e.clientX + 12) + 'px'; t.style.top = (e.clientY + 12) + 'px'; }

  // ---- tokens, loss, predictions -----------------------------------------------------------------------------
  function drawTokens(node, run, clickable) {
    clear(node);
    const maxLoss = Math.max(1e-6, ...run.loss);
    run.strings.forEach((s, p) => {
      const chip = el('span', null, 'tok');
      chip.appendChild(el('span', s));
      const top = run.top[p][0];
      chip.appendChild(el('span', top.text, 'pred'));
      chip.dataset.position = p;
      if (p > 0) {
        chip.dataset.loss = run.loss[p - 1];
        chip.style.background = heat(run.loss[p - 1], maxLoss);
      }
      tooltip(chip, 'position ' + p + ' id ' + run.tokens[p] + (p > 0 ? '\nloss ' + fmt(run.loss[p - 1]) : '')
        + '\nnext: ' + run.top[p].map((t) => t.text + ' ' + fmt(t.prob)).join('\n      '));
      if (clickable) chip.addEventListener('click', () => addIntervention({ kind: 'zero', target: 'resid', layer: layer(), position: p }));
      node.appendChild(chip);
    });
  }
  function lossLine(label, run) {
    const line = el('div');
    line.appendChild(el('span', label + ': mean loss '));
    const mean = el('span', fmt(run.meanLoss, 4));
    mean.dataset.value = run.meanLoss;
    line.appendChild(mean);
    if (run.halves) {
      line.appendChild(el('span', ' · first half '));
      const first = el('span', fmt(run.halves.firstHalf, 4));
      first.dataset.value = run.halves.firstHalf;
      line.appendChild(first);
      line.appendChild(el('span', ' · repeated half '));
      const second = el('span', fmt(run.halves.repeatedHalf, 4));
      second.id = label === 'clean' ? 'clean-repeated' : 'ablated-repeated';
      second.dataset.value = run.halves.repeatedHalf;
      line.appendChild(second);
    }
    return line;
  }
  async function updateRun(seq) {
    const body = Object.assign(base(), { prompt: prompt(), topK: 5 });
    if (state.interventions.length === 0) {
      const run = await api('run', body);
      if (seq !== state.seq) return;
      state.run = run;
      drawTokens($('tokens'), run, true);
      clear($('losses'));
      $('losses').appendChild(lossLine('clean', run));
      $('ablated-block').hidden = true;
    } else {
      const both = await api('intervene', withInterventions(body));
      if (seq !== state.seq) return;
      state.run = both.clean;
      drawTokens($('tokens'), both.clean, true);
      drawTokens($('ablated-tokens'), both.intervened, false);
      clear($('losses'));
      $('losses').appendChild(lossLine('clean', both.clean));
      $('losses').appendChild(lossLine('ablated', both.intervened));
      $('ablated-block').hidden = false;
    }
  }

  // ---- interventions -----------------------------------------------------------------------------------------
  function describe(i) {
    return i.kind + ' ' + (i.target === 'head' ? 'L' + i.layer + 'H' + i.head : i.target === 'mlp' ? 'MLP ' + i.layer
      : 'resid L' + i.layer + ' pos ' + i.position);
  }
  function addIntervention(i) {
    if (!state.interventions.some((j) => describe(j) === describe(i))) state.interventions.push(i);
    drawInterventions();
    update(true);
  }
  function drawInterventions() {
    const node = $('interventions');
    clear(node);
    if (state.interventions.length === 0) node.appendChild(el('span', 'none (click to ablate)', 'hint'));
    state.interventions.forEach((i, n) => {
      const chip = el('span', describe(i) + ' ×', 'chip');
      chip.title = 'remove';
      chip.addEventListener('click', () => { state.interventions.splice(n, 1); drawInterventions(); update(true); });
      node.appendChild(chip);
    });
  }
  function layer() { return Number($('attn-layer').value || 0); }
  function head() { return Number($('attn-head').value || 0); }

  // ---- trajectories ------------------------------------------------------------------------------------------
  const STATS = {
    probability: (l, r, p) => l.topProbs[r][p][0],
    entropy: (l, r, p) => l.entropy[r][p],
    kl: (l, r, p) => l.klToFinal[r][p],
    crossEntropy: (l, r, p) => (p < l.crossEntropy[r].length ? l.crossEntropy[r][p] : null),
    rank: (l, r, p) => (l.targetRank ? l.targetRank[r][p] : null),
  };
  async function updateTrajectory(seq) {
    const body = withInterventions(Object.assign(base(), { prompt: prompt(), topK: 5 }));
    const target = $('traj-target').value;
    if (target !== '') body.target = Number(target);
    const trajectory = await api('trajectory', body);
    if (seq !== state.seq) return;
    state.trajectory = trajectory;
    drawTrajectories();
  }
  function drawTrajectories() {
    const t = state.trajectory;
    const node = $('trajectories');
    clear(node);
    if (!t) return;
    const stat = $('traj-stat').value;
    t.lenses.forEach((lens) => {
      const box = el('div');
      box.className = 'trajectory';
      box.dataset.lens = lens.lens;
      box.appendChild(el('h3', lens.lens));
      const table = el('table', null, 'grid');
      let max = 0;
      for (let r = 0; r < lens.layers.length; r++) {
        for (let p = 0; p < t.strings.length; p++) max = Math.max(max, STATS[stat](lens, r, p) || 0);
      }
      if (stat === 'probability') max = 1;
      for (let r = lens.layers.length - 1; r >= 0; r--) {
        const row = el('tr');
        row.appendChild(el('th', lens.layers[r]));
        for (let p = 0; p < t.strings.length; p++) {
          const value = STATS[stat](lens, r, p);
          const cell = el('td', lens.topStrings[r][p][0]);
          if (value !== null && value !== undefined) {
            cell.style.background = stat === 'rank' ? heat(Math.log(value), Math.log(Math.max(2, max))) : heat(value, max);
            cell.dataset.value = value;
          }
          tooltip(cell, lens.lens + ' · layer ' + lens.layers[r] + ' · pos ' + p + '\n' + stat + ' ' + fmt(value)
            + '\n' + lens.topStrings[r][p].map((s, k) => s + ' ' + fmt(lens.topProbs[r][p][k])).join('\n'));
          row.appendChild(cell);
        }
        table.appendChild(row);
      }
      const foot = el('tr');
      foot.appendChild(el('th', ''));
      t.strings.forEach((s) => foot.appendChild(el('th', s)));
      table.appendChild(foot);
      box.appendChild(table);
      node.appendChild(box);
    });
  }

  // ---- attention ---------------------------------------------------------------------------------------------
  async function updateAttention(seq) {
    const attention = await api('attention', withInterventions(Object.assign(base(), { prompt: prompt() })));
    if (seq !== state.seq) return;
    state.attention = attention;
    drawAttention();
  }
  function drawAttention() {
    const a = state.attention;
    const grid = $('attn-grid');
    clear(grid);
    if (!a) return;
    const pattern = a.patterns[layer()][head()];
    const table = el('table', null, 'grid');
    table.id = 'attn-table';
    table.dataset.layer = layer();
    table.dataset.head = head();
    pattern.forEach((row, q) => {
      const tr = el('tr');
      tr.appendChild(el('th', a.strings[q]));
      row.forEach((value, k) => {
        const td = el('td', '');
        td.style.background = k <= q ? heat(value, 1) : '#fafafa';
        td.dataset.value = value;
        tooltip(td, a.strings[q] + ' → ' + a.strings[k] + '  ' + fmt(value));
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    grid.appendChild(table);
    const scores = $('scores');
    clear(scores);
    Object.keys(a.scores).forEach((name) => {
      scores.appendChild(el('h3', name));
      const t = el('table', null, 'grid');
      t.dataset.detector = name;
      const header = el('tr');
      header.appendChild(el('th', ''));
      a.scores[name][0].forEach((_, h) => header.appendChild(el('th', 'H' + h)));
      t.appendChild(header);
      a.scores[name].forEach((row, l) => {
        const tr = el('tr');
        tr.appendChild(el('th', 'L' + l));
        row.forEach((value, h) => {
          const td = el('td', fmt(value, 2), 'click');
          td.style.background = heat(value, 1);
          td.dataset.value = value;
          td.dataset.layer = l;
          td.dataset.head = h;
          td.title = 'show L' + l + 'H' + h;
          td.addEventListener('click', () => { $('attn-layer').value = l; $('attn-head').value = h; drawAttention(); });
          tr.appendChild(td);
        });
        t.appendChild(tr);
      });
      scores.appendChild(t);
    });
  }

  // ---- patching ----------------------------------------------------------------------------------------------
  function patchBody() {
    const body = Object.assign(base(), { clean: prompt(), corrupted: corrupted(), target: $('patch-target').value });
    if ($('patch-answer').value !== '') body.answer = Number($('patch-answer').value);
    if ($('patch-wrong').value !== '') body.wrong = Number($('patch-wrong').value);
    return body;
  }
  async function runPatching() {
    status('patching…');
    try {
      const body = patchBody();
      const map = await api('patch', body);
      $('patch-summary').textContent = 'logit difference ' + map.answer + ' − ' + map.wrong + ' at the last position: clean '
        + fmt(map.cleanDiff) + ', corrupted ' + fmt(map.corruptedDiff) + '. Click a cell to see that patched run.';
      const node = $('patch-map');
      clear(node);
      const table = el('table', null, 'grid');
      table.id = 'patch-table';
      let max = 0;
      map.values.forEach((row) => row.forEach((v) => { max = Math.max(max, Math.abs(v)); }));
      map.values.forEach((row, l) => {
        const tr = el('tr');
        tr.appendChild(el('th', 'L' + l));
        row.forEach((value, c) => {
          const td = el('td', fmt(value, 2), 'click');
          td.style.background = diverging(value, max);
          td.dataset.value = value;
          td.dataset.layer = l;
          td.dataset.column = c;
          td.addEventListener('click', () => patchCell(body, l, c, td));
          tr.appendChild(td);
        });
        table.appendChild(tr);
      });
      const foot = el('tr');
      foot.appendChild(el('th', ''));
      map.columns.forEach((s) => foot.appendChild(el('th', s)));
      table.appendChild(foot);
      node.appendChild(table);
      status('');
    } catch (e) { status(e.message, true); }
  }
  async function patchCell(body, l, c, td) {
    try {
      const cell = await api('patch/cell', Object.assign({}, body, { layer: l, column: c, topK: 5 }));
      document.querySelectorAll('#patch-table td.chosen').forEach((n) => n.classList.remove('chosen'));
      td.classList.add('chosen');
      const node = $('patch-cell');
      clear(node);
      const last = cell.run.top[cell.run.top.length - 1];
      const line = el('div', 'patched L' + l + ' column ' + c + ': logit difference ');
      const value = el('span', fmt(cell.value, 4));
      value.id = 'patch-cell-value';
      value.dataset.value = cell.value;
      line.appendChild(value);
      line.appendChild(el('span', ' · mean loss ' + fmt(cell.run.meanLoss) + ' · next: '
        + last.map((t) => t.text + ' ' + fmt(t.prob)).join(', ')));
      node.appendChild(line);
    } catch (e) { status(e.message, true); }
  }

  // ---- direct logit attribution ------------------------------------------------------------------------------
  async function updateAttribution(seq) {
    const body = withInterventions(Object.assign(base(), { prompt: prompt() }));
    if ($('dla-answer').value !== '') body.answer = Number($('dla-answer').value);
    if ($('dla-wrong').value !== '') body.wrong = Number($('dla-wrong').value);
    const dla = await api('attribution', body);
    if (seq !== state.seq) return;
    const heads = $('dla-heads');
    clear(heads);
    heads.appendChild(el('h3', 'per head: token ' + dla.answer + (dla.wrong !== null ? ' − ' + dla.wrong : '') + ' at pos ' + dla.position));
    let max = 0;
    dla.heads.forEach((row) => row.forEach((v) => { max = Math.max(max, Math.abs(v)); }));
    const table = el('table', null, 'grid');
    dla.heads.forEach((row, l) => {
      const tr = el('tr');
      tr.appendChild(el('th', 'L' + l));
      row.forEach((v, h) => {
        const td = el('td', fmt(v, 2));
        td.style.background = diverging(v, max);
        td.dataset.value = v;
        td.title = 'L' + l + 'H' + h;
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    heads.appendChild(table);
    const parts = $('dla-components');
    clear(parts);
    parts.appendChild(el('h3', 'per layer component'));
    const t2 = el('table', null, 'grid');
    let max2 = 0;
    dla.components.forEach((v) => { max2 = Math.max(max2, Math.abs(v)); });
    dla.componentLabels.forEach((label, i) => {
      const tr = el('tr');
      tr.appendChild(el('th', label));
      const td = el('td', fmt(dla.components[i], 3));
      td.style.background = diverging(dla.components[i], max2);
      td.dataset.value = dla.components[i];
      tr.appendChild(td);
      t2.appendChild(tr);
    });
    parts.appendChild(t2);
  }

  // ---- generation --------------------------------------------------------------------------------------------
  async function generate() {
    const out = $('gen-out');
    clear(out);
    out.dataset.done = 'false';
    try {
      const body = withInterventions(Object.assign(base(), { prompt: prompt(), maxNewTokens: Number($('gen-n').value) }));
      const response = await fetch('/api/v1/generate', { method: 'POST', headers: headers(), body: JSON.stringify(body) });
      if (!response.ok) throw new Error((await response.json()).error);
      (state.run ? state.run.strings : []).forEach((s) => out.appendChild(el('span', s, 'tok')));
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffered += decoder.decode(chunk.value, { stream: true });
        let newline;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          if (line.done) {
            out.dataset.done = 'true';
            out.dataset.tokens = line.tokens.join(' ');
          } else {
            const t = el('span', line.text, 'tok gen-new');
            t.dataset.id = line.id;
            out.appendChild(t);
          }
        }
      }
    } catch (e) { status(e.message, true); }
  }

  // ---- wiring ------------------------------------------------------------------------------------------------
  async function update(now) {
    clearTimeout(debounce);
    const go = async () => {
      const seq = ++state.seq;
      status('running…');
      try {
        prompt();
        await Promise.all([updateRun(seq), updateTrajectory(seq), updateAttention(seq), updateAttribution(seq)]);
        if (seq === state.seq) { status('ready'); document.body.dataset.seq = seq; }
      } catch (e) {
        if (seq === state.seq) status(e.message, true);
      }
    };
    if (now) go(); else debounce = setTimeout(go, 300);
  }
  function chooseModel(name) {
    state.model = state.models.find((m) => m.name === name);
    const m = state.model;
    $('prompt').placeholder = m.tokenizer ? 'type a prompt' : 'token ids 0..' + (m.dVocab - 1) + ', or press the button';
    $('random').hidden = m.tokenizer;
    $('ablate-mlp').hidden = !m.mlp;
    for (const [id, n] of [['attn-layer', m.nLayers], ['attn-head', m.nHeads]]) {
      const select = $(id);
      clear(select);
      for (let i = 0; i < n; i++) { const o = el('option', i); o.value = i; select.appendChild(o); }
    }
    state.interventions = [];
    drawInterventions();
    if (!m.tokenizer && $('prompt').value === '') $('prompt').value = randomRepeated().join(' ');
    if (m.tokenizer && $('prompt').value === '') $('prompt').value = 'The quick brown fox jumps over the lazy dog';
    update(true);
  }
  async function start() {
    const list = await api('models');
    state.models = list.models;
    list.models.forEach((m) => { const o = el('option', m.name); o.value = m.name; $('model').appendChild(o); });
    $('model').addEventListener('change', () => { $('prompt').value = ''; chooseModel($('model').value); });
    $('prompt').addEventListener('input', () => update(false));
    $('prompt').addEventListener('keydown', (e) => { if (e.key === 'Enter') update(true); });
    $('random').addEventListener('click', () => { $('prompt').value = randomRepeated().join(' '); update(true); });
    $('traj-stat').addEventListener('change', drawTrajectories);
    $('traj-target').addEventListener('change', () => update(true));
    $('attn-layer').addEventListener('change', drawAttention);
    $('attn-head').addEventListener('change', drawAttention);
    $('ablate-zero').addEventListener('click', () => addIntervention({ kind: 'zero', target: 'head', layer: layer(), head: head() }));
    $('ablate-mean').addEventListener('click', () => addIntervention({ kind: 'mean', target: 'head', layer: layer(), head: head() }));
    $('ablate-mlp').addEventListener('click', () => addIntervention({ kind: 'zero', target: 'mlp', layer: layer() }));
    $('clear-interventions').addEventListener('click', () => { state.interventions = []; drawInterventions(); update(true); });
    $('patch-run').addEventListener('click', runPatching);
    $('dla-answer').addEventListener('change', () => update(true));
    $('dla-wrong').addEventListener('change', () => update(true));
    $('gen-run').addEventListener('click', generate);
    chooseModel(list.models[0].name);
  }
  start().catch((e) => status(e.message, true));
}());
