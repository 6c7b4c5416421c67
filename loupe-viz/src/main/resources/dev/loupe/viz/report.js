/* Loupe report: draws each .loupe-view from its JSON data. No library, no network. */
(function () {
  'use strict';

  var tip = document.getElementById('loupe-tooltip');

  function showTip(event, text) {
    tip.textContent = text;
    tip.hidden = false;
    var x = event.clientX + 14, y = event.clientY + 14;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    if (x + w > window.innerWidth - 4) { x = Math.max(4, event.clientX - w - 14); }
    if (y + h > window.innerHeight - 4) { y = Math.max(4, event.clientY - h - 14); }
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }

  function hideTip() { tip.hidden = true; }

  /* Shows tip(element) for any child element that tip gives text for, while the mouse is over it. */
  function hover(container, textOf) {
    function update(event) {
      var text = textOf(event.target);
      if (text === null || text === undefined) { hideTip(); } else { showTip(event, text); }
    }
    container.addEventListener('mouseover', update);
    container.addEventListener('mousemove', update);
    container.addEventListener('mouseleave', hideTip);
  }

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function hexToRgb(hex) {
    var n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }

  /* The same interpolation as dev.loupe.viz.ColorScale.rgb. */
  function color(scale, value) {
    if (value === null || value === undefined || isNaN(value)) { return [221, 221, 221]; }
    var stops = scale.stops, n = stops.length;
    var v = Math.min(Math.max(value, scale.min), scale.max);
    var t = (v - scale.min) / (scale.max - scale.min) * (n - 1);
    var i = Math.min(Math.floor(t), n - 2), f = t - i;
    var a = hexToRgb(stops[i]), b = hexToRgb(stops[i + 1]);
    return [0, 1, 2].map(function (c) { return Math.round(a[c] * (1 - f) + b[c] * f); });
  }

  function css(rgb) { return 'rgb(' + rgb[0] + ', ' + rgb[1] + ', ' + rgb[2] + ')'; }

  /* The same rule as ColorScale.textOn. */
  function textOn(rgb) {
    var lum = [0.2126, 0.7152, 0.0722].reduce(function (sum, weight, i) {
      var c = rgb[i] / 255;
      return sum + weight * (c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
    }, 0);
    return lum > 0.36 ? '#000' : '#fff';
  }

  /* At most max characters (code points), the last one … when cut. */
  function shorten(text, max) {
    var chars = Array.from(text);
    return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '\u2026';
  }

  function fmt(value, digits) {
    if (value === null || value === undefined || isNaN(value)) { return 'n/a'; }
    var a = Math.abs(value);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) { return value.toExponential(2); }
    return value.toFixed(digits === undefined ? 4 : digits);
  }

  function legend(scale, name) {
    var box = el('div', 'loupe-legend');
    box.appendChild(el('div', null, name));
    var bar = el('div', 'loupe-legend-bar');
    bar.style.background = 'linear-gradient(to right, ' + scale.stops.join(', ') + ')';
    box.appendChild(bar);
    var ends = el('div', 'loupe-legend-ends');
    ends.appendChild(el('span', null, fmt(scale.min, 3)));
    ends.appendChild(el('span', null, fmt(scale.max, 3)));
    box.appendChild(ends);
    return box;
  }

  /*
   * A labelled matrix: row labels on the left, column labels below, one .loupe-cell per entry with
   * data-row and data-col. spec: rows, cols (labels), cellW, cellH, fill(r, c) -> rgb, text(r, c)
   * (optional), tip(r, c) -> string, rowAxis, colAxis (titles).
   */
  function matrix(spec) {
    var grid = el('div', 'loupe-grid loupe-matrix');
    grid.style.gridTemplateColumns = 'max-content repeat(' + spec.cols.length + ', ' + spec.cellW + 'px)';
    grid.style.gridAutoRows = spec.cellH + 'px';
    spec.rows.forEach(function (rowLabel, r) {
      var rowTitle = el('div', 'loupe-rowlabel loupe-tok', shorten(rowLabel, 24));
      rowTitle.title = rowLabel;
      grid.appendChild(rowTitle);
      spec.cols.forEach(function (colLabel, c) {
        var cell = el('div', 'loupe-cell');
        var rgb = spec.fill(r, c);
        cell.style.background = css(rgb);
        if (spec.text) {
          // Whole tokens are in the tooltip; the cell shows what fits.
          cell.textContent = shorten(spec.text(r, c), Math.max(2, Math.floor((spec.cellW - 4) / 7)));
          cell.style.color = textOn(rgb);
        }
        cell.dataset.row = r;
        cell.dataset.col = c;
        grid.appendChild(cell);
      });
    });
    grid.appendChild(el('div', 'loupe-axis', spec.rowAxis || ''));
    // Short labels (head numbers) read best upright; tokens are turned to fit narrow columns.
    var upright = spec.cols.every(function (label) { return Array.from(label).length <= 3; });
    spec.cols.forEach(function (colLabel) {
      var label = el('div', (upright ? 'loupe-collabel-upright' : 'loupe-collabel') + ' loupe-tok', shorten(colLabel, 16));
      label.title = colLabel;
      grid.appendChild(label);
    });
    // Column labels size their row to fit; cells keep theirs.
    grid.style.gridTemplateRows = 'repeat(' + spec.rows.length + ', ' + spec.cellH + 'px) auto';
    hover(grid, function (target) {
      if (!target.classList || !target.classList.contains('loupe-cell')) { return null; }
      return spec.tip(+target.dataset.row, +target.dataset.col);
    });
    var box = el('div');
    box.appendChild(grid);
    if (spec.colAxis) { box.appendChild(el('div', 'loupe-axis', spec.colAxis)); }
    return box;
  }

  function quoted(token) { return '\u201c' + token + '\u201d'; }

  function pressed(buttons, chosen) {
    buttons.forEach(function (b) { b.setAttribute('aria-pressed', b === chosen ? 'true' : 'false'); });
  }

  /* ---- attention patterns: the CircuitsVis attention_heads experience ---------------------- */
  function attention(view, data) {
    var tokens = data.tokens, pos = tokens.length;
    var controls = el('div', 'loupe-controls');
    var layerPicker = el('select', 'loupe-layer-picker');
    data.layers.forEach(function (layer, i) {
      var option = el('option', null, 'Layer ' + layer.layer);
      option.value = i;
      layerPicker.appendChild(option);
    });
    if (data.layers.length > 1) {
      var label = el('label', null, 'Layer ');
      label.appendChild(layerPicker);
      controls.appendChild(label);
    }
    var headButtons = el('span', 'loupe-head-picker');
    controls.appendChild(el('span', null, 'Head'));
    controls.appendChild(headButtons);
    view.appendChild(controls);
    var thumbs = el('div', 'loupe-thumbs');
    view.appendChild(thumbs);
    var focus = el('div', 'loupe-attn-focus');
    view.appendChild(focus);

    var thumbCell = Math.max(1, Math.min(10, Math.floor(130 / pos)));
    var focusCell = Math.max(14, Math.min(34, Math.floor(640 / pos)));
    // The page may open on a chosen head (the demo's strongest induction head), else on layer 0, head 0.
    var layerIndex = data.openLayer || 0, head = data.openHead || 0;
    layerPicker.value = layerIndex;

    function scaleOf(h) { return { stops: ['#ffffff', data.headColors[h]], min: 0, max: 1 }; }

    function weightText(layer, h, q, k) {
      return 'Layer ' + layer.layer + ', head ' + h + '\n' +
        'destination ' + quoted(tokens[q]) + ' (pos ' + q + ')\n' +
        '  attends to ' + quoted(tokens[k]) + ' (pos ' + k + ')\n' +
        'weight ' + fmt(layer.heads[h][q][k], 4);
    }

    function thumbHover(canvas, layer, h) {
      function update(event) {
        var q = Math.floor(event.offsetY / thumbCell), k = Math.floor(event.offsetX / thumbCell);
        if (q < 0 || k < 0 || q >= pos || k >= pos) { hideTip(); } else { showTip(event, weightText(layer, h, q, k)); }
      }
      canvas.addEventListener('mousemove', update);
      canvas.addEventListener('mouseleave', hideTip);
    }

    function drawFocus() {
      var layer = data.layers[layerIndex];
      var scale = scaleOf(head);
      focus.textContent = '';
      focus.dataset.head = head;
      focus.dataset.layer = layer.layer;
      var wrap = el('div', 'loupe-matrix-wrap');
      wrap.appendChild(matrix({
        rows: tokens, cols: tokens, cellW: focusCell, cellH: focusCell,
        fill: function (q, k) { return color(scale, layer.heads[head][q][k]); },
        tip: function (q, k) { return weightText(layer, head, q, k); },
        rowAxis: 'destination \u2193  source \u2192',
        colAxis: 'Layer ' + layer.layer + ', head ' + head + ': each row is how much that destination token attends to each source token.'
      }));
      wrap.appendChild(legend(scale, 'attention weight'));
      focus.appendChild(wrap);
      thumbs.querySelectorAll('.loupe-thumb').forEach(function (t) {
        t.setAttribute('aria-selected', +t.dataset.head === head ? 'true' : 'false');
      });
      pressed(Array.prototype.slice.call(headButtons.children), headButtons.children[head]);
    }

    function drawLayer() {
      var layer = data.layers[layerIndex];
      thumbs.textContent = '';
      headButtons.textContent = '';
      layer.heads.forEach(function (pattern, h) {
        var button = el('button', 'loupe-btn loupe-head-btn', String(h));
        button.type = 'button';
        button.dataset.head = h;
        button.style.borderLeftColor = data.headColors[h];
        button.title = 'Show head ' + h;
        button.addEventListener('click', function () { head = h; drawFocus(); });
        headButtons.appendChild(button);

        var figure = el('figure', 'loupe-thumb');
        figure.dataset.head = h;
        figure.title = 'Layer ' + layer.layer + ', head ' + h + ' (click to enlarge)';
        // A canvas, not a cell per element: long prompts have pos * pos cells per head.
        var grid = el('canvas', 'loupe-attn-grid');
        grid.dataset.head = h;
        grid.dataset.rows = pos;
        grid.dataset.cell = thumbCell;
        grid.width = grid.height = pos * thumbCell;
        var context = grid.getContext('2d');
        var scale = scaleOf(h);
        for (var q = 0; q < pos; q++) {
          for (var k = 0; k < pos; k++) {
            context.fillStyle = css(color(scale, pattern[q][k]));
            context.fillRect(k * thumbCell, q * thumbCell, thumbCell, thumbCell);
          }
        }
        thumbHover(grid, layer, h);
        figure.appendChild(grid);
        figure.appendChild(el('figcaption', null, 'L' + layer.layer + 'H' + h));
        figure.addEventListener('click', function () { head = h; drawFocus(); });
        thumbs.appendChild(figure);
      });
      head = Math.min(head, layer.heads.length - 1);
      drawFocus();
    }

    layerPicker.addEventListener('change', function () { layerIndex = +layerPicker.value; drawLayer(); });
    drawLayer();
  }

  /* ---- prediction trajectories: the Tuned Lens plot --------------------------------------- */
  function trajectory(view, data) {
    var statNames = { probability: 'probability', entropy: 'entropy', kl: 'KL' };
    var controls = el('div', 'loupe-controls');
    var lensPicker = el('select', 'loupe-lens-picker');
    data.lenses.forEach(function (lens, i) {
      var option = el('option', null, lens.lens);
      option.value = i;
      lensPicker.appendChild(option);
    });
    if (data.lenses.length > 1) {
      var label = el('label', null, 'Lens ');
      label.appendChild(lensPicker);
      controls.appendChild(label);
    }
    controls.appendChild(el('span', null, 'Colour by'));
    var statButtons = [];
    Object.keys(statNames).forEach(function (stat) {
      var button = el('button', 'loupe-btn loupe-stat-btn', statNames[stat]);
      button.type = 'button';
      button.dataset.stat = stat;
      button.addEventListener('click', function () { statistic = stat; draw(); });
      statButtons.push(button);
      controls.appendChild(button);
    });
    view.appendChild(controls);
    var body = el('div', 'loupe-trajectory');
    view.appendChild(body);
    var lensIndex = 0, statistic = 'probability';

    function draw() {
      var lens = data.lenses[lensIndex];
      var scale = lens.scales[statistic];
      var nLayers = lens.layers.length;
      var rows = lens.layers.slice().reverse();
      function cellAt(r, c) { return lens.cells[nLayers - 1 - r][c]; }
      function valueOf(cell) { return statistic === 'probability' ? cell.p[0] : statistic === 'entropy' ? cell.e : cell.kl; }
      body.textContent = '';
      body.dataset.stat = statistic;
      body.dataset.lens = lens.lens;
      var wrap = el('div', 'loupe-matrix-wrap');
      wrap.appendChild(matrix({
        rows: rows, cols: lens.tokens, cellW: 64, cellH: 26,
        fill: function (r, c) { return color(scale, valueOf(cellAt(r, c))); },
        text: function (r, c) { return cellAt(r, c).t[0]; },
        tip: function (r, c) {
          var cell = cellAt(r, c);
          var lines = [lens.lens + ', ' + rows[r] + ', position ' + c + ' (input ' + quoted(lens.tokens[c]) + ')',
            'top ' + cell.t.length + ' next tokens:'];
          cell.t.forEach(function (token, i) { lines.push('  ' + (i + 1) + '. ' + quoted(token) + '  ' + fmt(cell.p[i], 4)); });
          lines.push('entropy ' + fmt(cell.e, 3) + ' nats, KL(final \u2016 lens) ' + fmt(cell.kl, 3) + ' nats');
          return lines.join('\n');
        },
        rowAxis: 'input \u2192',
        colAxis: 'Each cell: the top next-token prediction at that layer and position, coloured by ' + statNames[statistic] + '.'
      }));
      wrap.appendChild(legend(scale, lens.labels[statistic]));
      body.appendChild(wrap);
      pressed(statButtons, statButtons.filter(function (b) { return b.dataset.stat === statistic; })[0]);
    }

    lensPicker.addEventListener('change', function () { lensIndex = +lensPicker.value; draw(); });
    draw();
  }

  /* ---- heatmaps (patching results, any matrix) -------------------------------------------- */
  function named(name, label) { return name ? name + ' ' + label : label; }

  function heatmap(view, data) {
    var cellW = data.text ? 64 : Math.max(16, Math.min(40, Math.floor(720 / Math.max(1, data.columns.length))));
    var wrap = el('div', 'loupe-matrix-wrap');
    wrap.appendChild(matrix({
      rows: data.rows, cols: data.columns, cellW: cellW, cellH: data.text ? 26 : Math.max(16, Math.min(30, cellW)),
      fill: function (r, c) { return color(data.scale, data.values[r][c]); },
      text: data.text ? function (r, c) { return data.text[r][c]; } : null,
      tip: function (r, c) {
        return named(data.rowName, data.rows[r]) + ', ' + named(data.columnName, data.columns[c]) +
          (data.text ? '  ' + quoted(data.text[r][c]) : '') + '\n' + data.valueName + ' = ' + fmt(data.values[r][c], 4);
      },
      rowAxis: data.rowName ? data.rowName + ' \u2193' : '',
      colAxis: data.columnName
    }));
    wrap.appendChild(legend(data.scale, data.valueName));
    view.appendChild(wrap);
  }

  /* ---- bar charts (top predictions, logit attributions) ---------------------------------- */
  function bars(view, data) {
    var max = data.values.reduce(function (m, v) { return isNaN(v) ? m : Math.max(m, Math.abs(v)); }, 0) || 1;
    var signed = data.values.some(function (v) { return v < 0; });
    var chart = el('div', 'loupe-bars');
    data.labels.forEach(function (label, i) {
      var v = data.values[i];
      chart.appendChild(el('div', 'loupe-tok', label));
      var track = el('div', 'loupe-bar-track');
      var bar = el('div', 'loupe-bar');
      var share = Math.abs(v) / max * (signed ? 50 : 100);
      bar.style.width = share + '%';
      bar.style.left = signed ? (v < 0 ? (50 - share) + '%' : '50%') : '0';
      bar.style.background = v < 0 ? '#b2182b' : '#2166ac';
      bar.dataset.index = i;
      track.dataset.index = i;
      track.appendChild(bar);
      chart.appendChild(track);
      chart.appendChild(el('div', 'loupe-bar-value', fmt(v, 4)));
    });
    hover(chart, function (target) {
      if (!target.dataset || target.dataset.index === undefined) { return null; }
      var i = +target.dataset.index;
      return quoted(data.labels[i]) + '\n' + data.valueName + ' = ' + fmt(data.values[i], 6);
    });
    view.appendChild(chart);
    view.appendChild(el('div', 'loupe-axis', data.valueName));
  }

  /* ---- coloured tokens (per-token loss, neuron activations) ------------------------------- */
  function tokens(view, data) {
    var box = el('div', 'loupe-tokens');
    data.tokens.forEach(function (token, i) {
      var span = el('span', 'loupe-tok', token);
      var rgb = color(data.scale, data.values[i]);
      span.style.background = css(rgb);
      span.style.color = textOn(rgb);
      span.dataset.index = i;
      box.appendChild(span);
    });
    hover(box, function (target) {
      if (!target.dataset || target.dataset.index === undefined) { return null; }
      var i = +target.dataset.index;
      return quoted(data.tokens[i]) + ' (pos ' + i + ')\n' + data.valueName + ' = ' + fmt(data.values[i], 4);
    });
    var wrap = el('div', 'loupe-matrix-wrap');
    wrap.appendChild(box);
    wrap.appendChild(legend(data.scale, data.valueName));
    view.appendChild(wrap);
  }

  /* ---- a feature's top contexts: one row of coloured tokens each, the peak outlined ------- */
  function contexts(view, data) {
    var box = el('div', 'loupe-contexts');
    data.rows.forEach(function (row, r) {
      var line = el('div', 'loupe-context');
      line.dataset.row = r;
      line.appendChild(el('span', 'loupe-context-value', fmt(row.values[row.peak], 3)));
      // The peak starts the second column, so that the rows' peaks line up.
      var before = el('span', 'loupe-context-before'), from = el('span', 'loupe-context-from');
      row.tokens.forEach(function (token, i) {
        var span = el('span', 'loupe-tok', token);
        var rgb = color(data.scale, row.values[i]);
        span.style.background = css(rgb);
        span.style.color = textOn(rgb);
        span.dataset.row = r;
        span.dataset.index = i;
        span.dataset.value = row.values[i] === null ? 'NaN' : row.values[i];
        if (i === row.peak) { span.classList.add('loupe-peak'); }
        (i < row.peak ? before : from).appendChild(span);
      });
      line.appendChild(before);
      line.appendChild(from);
      line.appendChild(el('span', 'loupe-context-label', row.label));
      box.appendChild(line);
    });
    hover(box, function (target) {
      if (!target.dataset || target.dataset.index === undefined) { return null; }
      var row = data.rows[+target.dataset.row], i = +target.dataset.index;
      return quoted(row.tokens[i]) + ' (' + row.label + ', token ' + i + ' of the window)\n' +
        data.valueName + ' = ' + fmt(row.values[i], 4);
    });
    var wrap = el('div', 'loupe-matrix-wrap');
    wrap.appendChild(box);
    wrap.appendChild(legend(data.scale, data.valueName));
    view.appendChild(wrap);
  }

  /* ---- histograms (a feature's activations, the features' densities) --------------------- */
  function histogram(view, data) {
    var max = data.counts.reduce(function (m, c) { return Math.max(m, c); }, 0) || 1;
    var chart = el('div', 'loupe-hist');
    data.counts.forEach(function (count, i) {
      var column = el('div', 'loupe-hist-col');
      var bar = el('div', 'loupe-hist-bar');
      bar.style.height = (count / max * 100) + '%';
      bar.dataset.index = i;
      bar.dataset.count = count;
      column.dataset.index = i;
      column.appendChild(bar);
      chart.appendChild(column);
    });
    hover(chart, function (target) {
      if (!target.dataset || target.dataset.index === undefined) { return null; }
      var i = +target.dataset.index;
      return data.valueName + ' in [' + fmt(data.edges[i], 4) + ', ' + fmt(data.edges[i + 1], 4) + ')\n' +
        'count = ' + data.counts[i];
    });
    view.appendChild(chart);
    var ends = el('div', 'loupe-hist-ends');
    ends.appendChild(el('span', null, fmt(data.edges[0], 3)));
    ends.appendChild(el('span', 'loupe-axis', data.valueName));
    ends.appendChild(el('span', null, fmt(data.edges[data.edges.length - 1], 3)));
    view.appendChild(ends);
  }

  /* ---- the features of an SAE, each linking to its page ---------------------------------- */
  function features(view, data) {
    var table = el('table', 'loupe-feature-table');
    var head = el('tr');
    ['feature', 'density', 'max activation', 'top promoted tokens'].forEach(function (name) {
      head.appendChild(el('th', null, name));
    });
    var thead = el('thead');
    thead.appendChild(head);
    table.appendChild(thead);
    var body = el('tbody');
    data.rows.forEach(function (row) {
      var tr = el('tr', 'loupe-feature-row');
      tr.dataset.feature = row.feature;
      var name = el('td');
      if (row.href) {
        var link = el('a', 'loupe-feature-link', 'Feature ' + row.feature);
        link.href = row.href;
        name.appendChild(link);
      } else {
        name.textContent = 'Feature ' + row.feature;
      }
      tr.appendChild(name);
      tr.appendChild(el('td', 'loupe-num', fmt(row.density, 4)));
      tr.appendChild(el('td', 'loupe-num', fmt(row.max, 3)));
      var top = el('td');
      row.top.forEach(function (token) { top.appendChild(el('span', 'loupe-tok loupe-chip', token)); });
      tr.appendChild(top);
      body.appendChild(tr);
    });
    table.appendChild(body);
    view.appendChild(table);
  }

  var renderers = { attention: attention, trajectory: trajectory, heatmap: heatmap, bars: bars, tokens: tokens,
    contexts: contexts, histogram: histogram, features: features };
  document.querySelectorAll('.loupe-view').forEach(function (view) {
    var data = JSON.parse(view.querySelector('script.loupe-data').textContent);
    renderers[data.kind](view, data);
    view.dataset.rendered = 'true';
  });
  document.body.dataset.rendered = 'true';
}());
