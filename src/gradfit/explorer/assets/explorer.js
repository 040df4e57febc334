(function () {
  'use strict';

  // The data's statistics in both coordinate systems, written by gradfit (src/gradfit/explorer/page.py).
  var DATA = JSON.parse(document.getElementById('gradfit-data').textContent);
  var SVG = 'http://www.w3.org/2000/svg';
  // The driver's divergence test (gradfit.driver.DIVERGENCE_GROWTH): the loss this many times its
  // starting value, times the solver's transient growth (momentum may raise the loss for a while).
  var DIVERGENCE_GROWTH = 1e3;
  // Most updates counted when saying how many a rate needs (gradfit.article.UPDATES_SEARCH_LIMIT).
  var SEARCH_LIMIT = 1000000;
  // The learning-rate slider spans 1e-4/L to 4/L in SLIDER_STEPS equal steps of log α.
  var SLIDER_STEPS = 1000, RATE_LOW = -4, RATE_HIGH = Math.log10(4);
  // Rates the slider gives have 3 significant digits (the exact box takes any).
  var SLIDER_DIGITS = 3;
  // Most vertices drawn of a path or a cost curve (a screen has fewer pixels across); the first
  // PATH_HEAD iterates are always drawn, where the path turns most.
  var MAX_VERTICES = 1500, PATH_HEAD = 300;
  // Rings of the contour map, evenly spaced in distance from the bottom, and finer ones inside.
  var RINGS = 12, INNER_RINGS = 3;
  // Play runs through the updates in about this many animation frames (4 s at 60 frames a second).
  var PLAY_FRAMES = 240;
  // Pixels outside the drawing that coordinates are clamped to (a diverging path leaves for 1e300).
  var FAR = 1e5;

  // --- the objective, in gradfit's own operations and order -------------------------------------

  function frameOf(standardize) { return DATA.frames[standardize ? 'standardized' : 'raw']; }

  // g = Gθ − b (LeastSquares.loss_grad)
  function gradient(P, t) {
    var G = P.G;
    return [G[0][0] * t[0] + G[0][1] * t[1] - P.b[0], G[1][0] * t[0] + G[1][1] * t[1] - P.b[1]];
  }
  // J(θ) = ½(θᵀ(g − b) + c), in θ's units
  function loss(P, t, g) { return 0.5 * ((t[0] * (g[0] - P.b[0]) + t[1] * (g[1] - P.b[1])) + P.c); }
  function lossScale(P) { var u = P.frame.y_unit * P.frame.y_scale; return u * u; }
  // Frame.to_model: θ → [intercept, slope] in the data's units
  function toModel(P, t) {
    var f = P.frame;
    var coefScaled = f.y_unit * t[1] / f.x_unit;
    var interceptScaled = f.y_shift + f.y_unit * t[0] - coefScaled * f.x_shift;
    return [interceptScaled * f.y_scale, coefScaled * (f.y_scale / f.x_scale)];
  }
  // Frame.from_model: [intercept, slope] → θ
  function fromModel(P, m) {
    var f = P.frame;
    var coefScaled = m[1] * (f.x_scale / f.y_scale), interceptScaled = m[0] / f.y_scale;
    var weight = coefScaled * f.x_unit / f.y_unit;
    return [(interceptScaled - f.y_shift + coefScaled * f.x_shift) / f.y_unit, weight];
  }
  function finite(t) { return isFinite(t[0]) && isFinite(t[1]); }
  function eigenvalues(P) {
    var G = P.G, half = (G[0][0] + G[1][1]) / 2, d = Math.hypot((G[0][0] - G[1][1]) / 2, G[0][1]);
    return [Math.max(half - d, 0), half + d];
  }

  // The update rules of gradfit.solvers: gd.py (θ − αg), momentum.py's HeavyBall
  // (θ − αg + β(θ − θ')) and Nesterov with a given β (y = θ + β(θ − θ'), θ⁺ = y − α∇J(y),
  // restarting when (y − θ⁺)ᵀ(θ⁺ − θ) > 0), with the same floating-point operations in the same order.
  function stepper(P, s) {
    var a = s.learning_rate, beta = s.momentum;
    var kind = beta > 0 ? s.method : 'gd';
    var t = fromModel(P, s.start), previous = t, g = gradient(P, t);
    return {
      theta: function () { return t; },
      grad: function () { return g; },
      step: function () {
        var next;
        if (kind === 'nesterov') {
          var look = [t[0] + beta * (t[0] - previous[0]), t[1] + beta * (t[1] - previous[1])];
          var lg = gradient(P, look);
          next = [look[0] - a * lg[0], look[1] - a * lg[1]];
          var uphill = (look[0] - next[0]) * (next[0] - t[0]) + (look[1] - next[1]) * (next[1] - t[1]);
          previous = uphill > 0 ? next : t;
        } else if (kind === 'heavy-ball') {
          next = [t[0] - a * g[0] + beta * (t[0] - previous[0]), t[1] - a * g[1] + beta * (t[1] - previous[1])];
          previous = t;
        } else {
          next = [t[0] - a * g[0], t[1] - a * g[1]];
        }
        t = next;
        g = gradient(P, t);
      }
    };
  }

  function solverName(s) { return s.momentum > 0 ? (s.method === 'nesterov' ? 'nesterov' : 'momentum') : 'gd'; }

  // Largest |root| of the iteration on each eigenvalue of G, and whether the largest one swings
  // (negative or complex): gradient descent's 1 − αλ; the heavy ball's z² − (1 + β − αλ)z + β;
  // Nesterov's z² − (1 − αλ)(1 + β)z + (1 − αλ)β (its restarts aside).
  function spectrum(P, s) {
    var worst = 0, swings = false;
    eigenvalues(P).forEach(function (lambda) {
      var a = s.learning_rate, beta = s.momentum, modulus, swing;
      if (!(beta > 0)) {
        modulus = Math.abs(1 - a * lambda); swing = 1 - a * lambda < 0;
      } else {
        var p = s.method === 'nesterov' ? (1 - a * lambda) * (1 + beta) : 1 + beta - a * lambda;
        var q = s.method === 'nesterov' ? (1 - a * lambda) * beta : beta;
        var disc = p * p - 4 * q;
        if (disc >= 0) {
          var r1 = (p + Math.sqrt(disc)) / 2, r2 = (p - Math.sqrt(disc)) / 2;
          modulus = Math.max(Math.abs(r1), Math.abs(r2));
          swing = (Math.abs(r1) >= Math.abs(r2) ? r1 : r2) < 0;
        } else {
          modulus = Math.sqrt(q); swing = true;
        }
      }
      if (modulus > worst) { worst = modulus; swings = swing; }
    });
    return { rho: worst, swings: swings };
  }

  function stableBound(P, s) {
    var L = P.L, beta = s.momentum;
    if (!(beta > 0)) return 2 / L;
    return s.method === 'nesterov' ? 2 * (1 + beta) / ((1 + 2 * beta) * L) : 2 * (1 + beta) / L;
  }

  function transientGrowth(P, s) {
    if (!(s.momentum > 0) || !(P.mu > 0)) return 1;
    return s.method === 'nesterov' ? Math.sqrt(P.L / P.mu) : P.L / P.mu;
  }

  // Largest relative error of the intercept and the slope against the exact least-squares answer.
  function relativeError(m) {
    var o = DATA.optimum;
    function one(value, best) { return best !== 0 ? Math.abs(value - best) / Math.abs(best) : Math.abs(value); }
    return Math.max(one(m[0], o.intercept), one(m[1], o.slope));
  }

  // A run of s.updates updates: its iterates, costs (in the data's units, J(θ_k) for k = 0..n) and
  // gradient norms, then its verdict, by going on (without keeping iterates) until the run
  // converges (every coefficient within tol), diverges (the driver's test), or SEARCH_LIMIT.
  function simulate(s) {
    var P = frameOf(s.standardize), scale = lossScale(P), it = stepper(P, s);
    var n = s.updates, thetas = [it.theta()], costs = [], norms = [];
    var cost0 = loss(P, it.theta(), it.grad()) * scale;
    var limit = DIVERGENCE_GROWTH * transientGrowth(P, s) * cost0;
    var reached = null, diverged = null, k = 0;
    for (; ; k++) {
      var t = it.theta(), g = it.grad();
      var cost = loss(P, t, g) * scale;
      if (k <= n) { costs.push(cost); norms.push(Math.hypot(g[0], g[1])); }
      if (!finite(t) || !isFinite(cost) || (cost > limit && cost0 > 0)) { diverged = k; break; }
      if (reached === null && relativeError(toModel(P, t)) <= DATA.tol) reached = k;
      if (k >= n && (reached !== null || k >= SEARCH_LIMIT)) break;
      it.step();
      if (k < n && finite(it.theta())) thetas.push(it.theta());
    }
    return { P: P, thetas: thetas, costs: costs, norms: norms, reached: reached, diverged: diverged,
             searched: k, verdict: judge(P, s, reached, diverged, k) };
  }

  function judge(P, s, reached, diverged, searched) {
    var theory = spectrum(P, s), v = { rho: theory.rho, bound: stableBound(P, s), searched: searched };
    if (diverged !== null) { v.kind = 'diverging'; v.at = diverged; return v; }
    if (reached !== null && reached <= s.updates) { v.kind = 'converging'; v.needed = reached; return v; }
    v.needed = reached;
    if (reached === null && theory.rho > 1) { v.kind = 'diverging'; v.at = null; return v; }
    v.kind = theory.swings ? 'oscillating' : 'too-slow';
    return v;
  }

  // --- the page's state -------------------------------------------------------------------------

  var defaults = DATA.defaults;
  var state = {
    learning_rate: defaults.learning_rate, momentum: defaults.momentum, method: defaults.method,
    updates: defaults.updates, start: defaults.start.slice(), standardize: defaults.standardize
  };
  var at = state.updates; // the update on screen
  var result = null, view = null, playing = false, dragging = false;

  function settings(options) {
    var s = {
      learning_rate: Number(options.learning_rate !== undefined ? options.learning_rate : state.learning_rate),
      momentum: Number(options.momentum !== undefined ? options.momentum : state.momentum),
      method: options.method !== undefined ? String(options.method) : state.method,
      updates: Math.round(Number(options.updates !== undefined ? options.updates : state.updates)),
      start: (options.start || state.start).map(Number),
      standardize: Boolean(options.standardize !== undefined ? options.standardize : state.standardize)
    };
    if (!(s.learning_rate > 0 && isFinite(s.learning_rate))) throw new Error('learning_rate must be a positive number');
    if (!(s.momentum >= 0 && s.momentum < 1)) throw new Error('momentum must be in [0, 1)');
    if (s.method !== 'heavy-ball' && s.method !== 'nesterov') throw new Error("method must be 'heavy-ball' or 'nesterov'");
    if (!(s.updates >= 1 && s.updates <= DATA.max_updates)) throw new Error('updates must be 1 to ' + DATA.max_updates);
    if (s.start.length !== 2 || !finite(s.start)) throw new Error('start must be [intercept, slope]');
    return s;
  }

  function recompute() {
    result = simulate(state);
    if (!dragging) view = mapView(result);
  }

  // --- formatting -----------------------------------------------------------------------------------

  function num(x, digits) {
    if (!isFinite(x)) return x > 0 ? '∞' : (x < 0 ? '−∞' : 'not a number');
    var text = Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-4 && x !== 0) ? x.toExponential((digits || 4) - 1) : String(Number(x.toPrecision(digits || 4)));
    return text.replace('-', '−');
  }
  function count(n) { return Number(n).toLocaleString('en-US'); }
  function percent(e) { return e >= 1e-3 ? (e >= 0.1 ? (100 * e).toFixed(0) : (100 * e).toPrecision(2)) + '%' : num(e, 2); }
  function rateText(a, P) {
    var ratio = a * P.L;
    var named = Math.abs(ratio - 1) < 1e-12 ? ' = 1/L' : (Math.abs(ratio - 2) < 1e-12 ? ' = 2/L' : ' = ' + num(ratio, 3) + '/L');
    return num(a, 4) + named;
  }

  // --- the verdict in words ---------------------------------------------------------------------

  var LABELS = { converging: 'Converging', 'too-slow': 'Too slow at this rate', oscillating: 'Oscillating', diverging: 'Diverging' };

  function verdictText(s, r) {
    var v = r.verdict, P = r.P, n = s.updates;
    var last = r.thetas[r.thetas.length - 1], error = relativeError(toModel(P, last));
    var bound = s.momentum > 0 ? (s.method === 'nesterov' ? '2(1 + β)/((1 + 2β)L)' : '2(1 + β)/L') + ' = ' + num(v.bound, 4) : '2/L = ' + num(v.bound, 4);
    var needs = v.needed !== null && v.needed !== undefined ? 'it would need ' + count(v.needed) + ' updates'
      : 'it does not get there within ' + count(SEARCH_LIMIT) + ' updates';
    if (v.kind === 'converging') {
      return 'After ' + count(n) + ' updates every coefficient is within a millionth of the least-squares answer, '
        + 'relatively: the run got there at update ' + count(v.needed) + '.'
        + (spectrum(P, s).swings ? ' On the way it swings across the valley and back, each swing smaller than the last.' : '');
    }
    if (v.kind === 'diverging') {
      var where = v.at !== null ? 'At update ' + count(v.at) + ' the cost is ' + (isFinite(r.costs[r.costs.length - 1]) || v.at > n ? 'over a thousand times where it started' : 'too large to compute')
        + ' (gradfit stops such a run there, with a DivergenceError that names 2/L).'
        : 'The swings grow by a factor ' + num(v.rho, 6) + ' an update, too slowly to see within ' + count(SEARCH_LIMIT) + ' updates.';
      return 'α = ' + rateText(s.learning_rate, P) + ' is past the stable bound ' + bound + ': every update overshoots '
        + 'the bottom of the bowl by more than it started from, so each swing is larger than the last. ' + where;
    }
    var tail = ' After ' + count(n) + ' updates a coefficient is still ' + percent(error) + ' from the least-squares answer; '
      + needs + ' to get within a millionth of it.';
    if (v.kind === 'oscillating') {
      return 'Every update overshoots the bottom of the valley and swings back; the swings shrink by only a factor '
        + num(v.rho, 4) + ' an update, so the run settles slowly.' + tail;
    }
    var auto = '';
    if (!(s.momentum > 0) && Math.abs(s.learning_rate * P.L - 1) > 1e-12) {
      var quick = simulate(settings({ learning_rate: 1 / P.L, momentum: 0, updates: 1 }));
      if (quick.reached !== null) auto = ' At α = 1/L = ' + num(1 / P.L, 4) + ' it needs ' + count(quick.reached) + '.';
    }
    return 'Every update moves downhill without overshooting, but the steps are small for the flattest direction '
      + 'of the bowl, which sets the pace.' + tail + auto;
  }

  // --- drawing ----------------------------------------------------------------------------------------

  function node(tag, attributes, parent) {
    var e = document.createElementNS(SVG, tag);
    for (var name in attributes) e.setAttribute(name, attributes[name]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, content, attributes) {
    var e = node('text', Object.assign({ x: x, y: y }, attributes || {}), parent);
    e.textContent = content;
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function clamp(v) { return Math.max(-FAR, Math.min(FAR, v)); }
  function ticks(lo, hi, wanted) {
    var span = hi - lo;
    if (!(span > 0) || !isFinite(span)) return [lo];
    var raw = span / wanted, magnitude = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / magnitude;
    var step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * magnitude, out = [];
    for (var i = Math.ceil(lo / step); i * step <= hi + step * 1e-9; i++) out.push(i === 0 ? 0 : i * step);
    return out;
  }
  function tickLabel(v) { return num(Number(v.toPrecision(6)), 4); }

  // Plot boxes inside each viewBox (left, top, width, height).
  var MAP = { left: 76, top: 14, width: 504, height: 440 };
  var PLOT = { left: 76, top: 14, width: 496, height: 286 };

  // The contour map's view: equal scales on both axes, holding the bottom, the start and the path
  // (up to where it climbs past four times the start's height above the bottom).
  function mapView(r) {
    var P = r.P, best = fromModel(P, [DATA.optimum.intercept, DATA.optimum.slope]);
    var scale = lossScale(P), floor = DATA.optimum.cost / scale;
    var height0 = loss(P, r.thetas[0], gradient(P, r.thetas[0])) - floor;
    var xs = [best[0], r.thetas[0][0]], ys = [best[1], r.thetas[0][1]];
    r.thetas.forEach(function (t) {
      if (loss(P, t, gradient(P, t)) - floor <= 4 * height0 + 1e-300) { xs.push(t[0]); ys.push(t[1]); }
    });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var size = Math.max(x1 - x0, y1 - y0, 1e-6 * (Math.abs(best[0]) + Math.abs(best[1]) + 1));
    var cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, half = size * 0.62;
    var s = Math.min(MAP.width, MAP.height) / (2 * half);
    return { P: P, cx: cx, cy: cy, s: s, best: best };
  }
  function px(v, t) { return [clamp(MAP.left + MAP.width / 2 + (t[0] - v.cx) * v.s), clamp(MAP.top + MAP.height / 2 - (t[1] - v.cy) * v.s)]; }
  function unpx(v, p) { return [v.cx + (p[0] - MAP.left - MAP.width / 2) / v.s, v.cy - (p[1] - MAP.top - MAP.height / 2) / v.s]; }

  var mapSvg = document.getElementById('map'), dataSvg = document.getElementById('data'), costSvg = document.getElementById('cost');
  var layers = {};

  function setupMap() {
    node('clipPath', { id: 'map-clip' }, node('defs', {}, mapSvg)).appendChild(
      node('rect', { x: MAP.left, y: MAP.top, width: MAP.width, height: MAP.height }));
    layers.axes = node('g', {}, mapSvg);
    var inside = node('g', { 'clip-path': 'url(#map-clip)' }, mapSvg);
    layers.rings = node('g', {}, inside);
    layers.path = node('polyline', { 'class': 'path', points: '' }, inside);
    layers.optimum = node('path', { 'class': 'optimum' }, inside);
    layers.now = node('circle', { 'class': 'now', r: 5 }, inside);
    layers.handle = node('circle', { 'class': 'handle', r: 9, tabindex: 0, role: 'button', 'data-control': 'start' }, mapSvg);
    node('rect', { x: MAP.left, y: MAP.top, width: MAP.width, height: MAP.height, 'class': 'axis' }, mapSvg);
  }

  function star(x, y, r) {
    var d = '';
    for (var i = 0; i < 10; i++) {
      var radius = i % 2 ? r * 0.45 : r, angle = Math.PI / 2 + i * Math.PI / 5;
      d += (i ? 'L' : 'M') + (x + radius * Math.cos(angle)).toFixed(2) + ',' + (y - radius * Math.sin(angle)).toFixed(2);
    }
    return d + 'Z';
  }

  function drawMapBackground() {
    var v = view, P = v.P;
    clear(layers.axes); clear(layers.rings);
    var half = [MAP.width / 2 / v.s, MAP.height / 2 / v.s];
    var xt = ticks(v.cx - half[0], v.cx + half[0], 6), yt = ticks(v.cy - half[1], v.cy + half[1], 6);
    xt.forEach(function (x) {
      var p = px(v, [x, v.cy]);
      node('line', { x1: p[0], x2: p[0], y1: MAP.top, y2: MAP.top + MAP.height, 'class': 'grid' }, layers.axes);
      text(layers.axes, p[0], MAP.top + MAP.height + 21, tickLabel(x), { 'text-anchor': 'middle' });
    });
    yt.forEach(function (y) {
      var p = px(v, [v.cx, y]);
      node('line', { x1: MAP.left, x2: MAP.left + MAP.width, y1: p[1], y2: p[1], 'class': 'grid' }, layers.axes);
      text(layers.axes, MAP.left - 6, p[1] + 4, tickLabel(y), { 'text-anchor': 'end' });
    });
    var names = state.standardize ? ['θ₀ (standardized intercept)', 'θ₁ (standardized slope)'] : ['intercept', 'slope (' + DATA.feature + ')'];
    text(layers.axes, MAP.left + MAP.width / 2, MAP.top + MAP.height + 46, names[0], { 'text-anchor': 'middle' });
    text(layers.axes, 16, MAP.top + MAP.height / 2, names[1], { 'text-anchor': 'middle', transform: 'rotate(-90 16 ' + (MAP.top + MAP.height / 2) + ')' });
    // Rings: ½dᵀGd = level, ellipses with semi-axes √(2·level/λ) along G's eigenvectors.
    var G = P.G, lambdas = eigenvalues(P), angle = 0.5 * Math.atan2(2 * G[0][1], G[0][0] - G[1][1]);
    var corner = 0;
    [[-1, -1], [-1, 1], [1, -1], [1, 1]].forEach(function (c) {
      var d = [v.cx + c[0] * half[0] - v.best[0], v.cy + c[1] * half[1] - v.best[1]];
      corner = Math.max(corner, 0.5 * (d[0] * (G[0][0] * d[0] + G[0][1] * d[1]) + d[1] * (G[1][0] * d[0] + G[1][1] * d[1])));
    });
    var levels = [];
    for (var i = 1; i <= RINGS; i++) levels.push(corner * (i / RINGS) * (i / RINGS));
    for (var j = 1; j <= INNER_RINGS; j++) levels.push(levels[0] / Math.pow(4, j));
    var centre = px(v, v.best);
    levels.forEach(function (level) {
      var rx = Math.min(Math.sqrt(2 * level / lambdas[1]) * v.s, FAR), ry = Math.min(lambdas[0] > 0 ? Math.sqrt(2 * level / lambdas[0]) * v.s : FAR, FAR);
      node('ellipse', { cx: centre[0], cy: centre[1], rx: rx, ry: ry, 'class': 'ring',
                        transform: 'rotate(' + (-angle * 180 / Math.PI) + ' ' + centre[0] + ' ' + centre[1] + ')' }, layers.rings);
    });
    layers.optimum.setAttribute('d', star(centre[0], centre[1], 9));
  }

  // Indices drawn of 0..k: all of the first PATH_HEAD, then evenly thinned, always k itself.
  function drawn(k, head) {
    var out = [], stride = Math.max(1, Math.ceil((k - head) / (MAX_VERTICES - head)));
    for (var i = 0; i <= k; i += (i < head ? 1 : stride)) out.push(i);
    if (out[out.length - 1] !== k) out.push(k);
    return out;
  }

  function drawMap() {
    var v = view, k = Math.min(at, result.thetas.length - 1);
    var points = drawn(k, PATH_HEAD).map(function (i) { var p = px(v, result.thetas[i]); return p[0].toFixed(1) + ',' + p[1].toFixed(1); });
    layers.path.setAttribute('points', points.join(' '));
    layers.path.setAttribute('data-points', k + 1);
    var now = px(v, result.thetas[k]), start = px(v, result.thetas[0]);
    layers.now.setAttribute('cx', now[0]); layers.now.setAttribute('cy', now[1]);
    layers.handle.setAttribute('cx', start[0]); layers.handle.setAttribute('cy', start[1]);
    layers.handle.setAttribute('aria-label', 'Start point: intercept ' + num(state.start[0], 5) + ', slope ' + num(state.start[1], 5)
      + '. Drag it, or use the arrow keys to move it.');
  }

  var dataLayers = {}, dataView = null;
  function setupData() {
    var xs = DATA.points.x, ys = DATA.points.y;
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var padX = (x1 - x0 || 1) * 0.05, padY = (y1 - y0 || 1) * 0.08;
    dataView = { x0: x0 - padX, x1: x1 + padX, y0: y0 - padY, y1: y1 + padY };
    var dv = dataView;
    function X(x) { return PLOT.left + (x - dv.x0) / (dv.x1 - dv.x0) * PLOT.width; }
    function Y(y) { return PLOT.top + (dv.y1 - y) / (dv.y1 - dv.y0) * PLOT.height; }
    dataView.X = X; dataView.Y = Y;
    node('clipPath', { id: 'data-clip' }, node('defs', {}, dataSvg)).appendChild(
      node('rect', { x: PLOT.left, y: PLOT.top, width: PLOT.width, height: PLOT.height }));
    var axes = node('g', {}, dataSvg);
    ticks(dv.x0, dv.x1, 6).forEach(function (x) {
      node('line', { x1: X(x), x2: X(x), y1: PLOT.top, y2: PLOT.top + PLOT.height, 'class': 'grid' }, axes);
      text(axes, X(x), PLOT.top + PLOT.height + 21, tickLabel(x), { 'text-anchor': 'middle' });
    });
    ticks(dv.y0, dv.y1, 5).forEach(function (y) {
      node('line', { x1: PLOT.left, x2: PLOT.left + PLOT.width, y1: Y(y), y2: Y(y), 'class': 'grid' }, axes);
      text(axes, PLOT.left - 6, Y(y) + 4, tickLabel(y), { 'text-anchor': 'end' });
    });
    text(axes, PLOT.left + PLOT.width / 2, PLOT.top + PLOT.height + 46, DATA.feature, { 'text-anchor': 'middle' });
    text(axes, 16, PLOT.top + PLOT.height / 2, DATA.target, { 'text-anchor': 'middle', transform: 'rotate(-90 16 ' + (PLOT.top + PLOT.height / 2) + ')' });
    var inside = node('g', { 'clip-path': 'url(#data-clip)' }, dataSvg);
    var radius = xs.length > 500 ? 2 : 3.5;
    for (var i = 0; i < xs.length; i++) node('circle', { cx: X(xs[i]).toFixed(1), cy: Y(ys[i]).toFixed(1), r: radius, 'class': 'dot' }, inside);
    var o = DATA.optimum;
    node('line', { x1: X(dv.x0), x2: X(dv.x1), y1: Y(o.intercept + o.slope * dv.x0), y2: Y(o.intercept + o.slope * dv.x1), 'class': 'best' }, inside);
    dataLayers.line = node('line', { 'class': 'line' }, inside);
    node('rect', { x: PLOT.left, y: PLOT.top, width: PLOT.width, height: PLOT.height, 'class': 'axis' }, dataSvg);
    var legendY = PLOT.top + PLOT.height + 80;
    node('line', { x1: PLOT.left, x2: PLOT.left + 28, y1: legendY - 4, y2: legendY - 4, 'class': 'line' }, dataSvg);
    text(dataSvg, PLOT.left + 34, legendY, 'the current line');
    node('line', { x1: PLOT.left + 190, x2: PLOT.left + 218, y1: legendY - 4, y2: legendY - 4, 'class': 'best' }, dataSvg);
    text(dataSvg, PLOT.left + 224, legendY, 'the least-squares line');
  }

  function drawData(model) {
    var dv = dataView;
    var ends = [dv.x0, dv.x1].map(function (x) { return [dv.X(x), clamp(dv.Y(model[0] + model[1] * x))]; });
    dataLayers.line.setAttribute('x1', ends[0][0]); dataLayers.line.setAttribute('y1', ends[0][1]);
    dataLayers.line.setAttribute('x2', ends[1][0]); dataLayers.line.setAttribute('y2', ends[1][1]);
  }

  var costLayers = {}, costView = null;
  function setupCost() {
    node('clipPath', { id: 'cost-clip' }, node('defs', {}, costSvg)).appendChild(
      node('rect', { x: PLOT.left, y: PLOT.top - 2, width: PLOT.width, height: PLOT.height + 4 }));
    costLayers.axes = node('g', {}, costSvg);
    var inside = node('g', { 'clip-path': 'url(#cost-clip)' }, costSvg);
    costLayers.best = node('line', { 'class': 'best' }, inside);
    costLayers.curve = node('polyline', { 'class': 'curve', points: '' }, inside);
    costLayers.now = node('circle', { 'class': 'now', r: 4 }, inside);
    node('rect', { x: PLOT.left, y: PLOT.top, width: PLOT.width, height: PLOT.height, 'class': 'axis' }, costSvg);
    var legendY = PLOT.top + PLOT.height + 80;
    node('line', { x1: PLOT.left, x2: PLOT.left + 28, y1: legendY - 4, y2: legendY - 4, 'class': 'curve' }, costSvg);
    text(costSvg, PLOT.left + 34, legendY, 'cost J(θ) at each update');
    node('line', { x1: PLOT.left + 252, x2: PLOT.left + 280, y1: legendY - 4, y2: legendY - 4, 'class': 'best' }, costSvg);
    text(costSvg, PLOT.left + 286, legendY, 'the lowest cost');
  }

  function drawCostAxes() {
    var costs = result.costs, best = DATA.optimum.cost;
    var positive = costs.filter(function (c) { return c > 0 && isFinite(c); });
    var low = Math.min.apply(null, positive.concat(best > 0 ? [best] : []));
    var high = Math.min(Math.max.apply(null, positive), costs[0] * 1e6);
    if (!(low > 0)) low = 1e-300;
    var lo = Math.log10(low), hi = Math.log10(Math.max(high, low * 1.0001));
    var pad = Math.max((hi - lo) * 0.06, 0.02);
    lo -= pad; hi += pad;
    var n = Math.max(result.costs.length - 1, 1);
    costView = {
      X: function (i) { return PLOT.left + i / n * PLOT.width; },
      Y: function (c) { return clamp(PLOT.top + (hi - Math.log10(Math.max(c, 1e-300))) / (hi - lo) * PLOT.height); }
    };
    var axes = costLayers.axes;
    clear(axes);
    var decades = [];
    if (hi - lo >= 1.5) {
      var stepD = Math.max(1, Math.ceil((hi - lo) / 6));
      for (var d = Math.ceil(lo); d <= hi; d += stepD) decades.push(Math.pow(10, d));
    } else {
      ticks(Math.pow(10, lo), Math.pow(10, hi), 4).forEach(function (c) { if (c > 0) decades.push(c); });
    }
    decades.forEach(function (c) {
      var y = costView.Y(c);
      node('line', { x1: PLOT.left, x2: PLOT.left + PLOT.width, y1: y, y2: y, 'class': 'grid' }, axes);
      text(axes, PLOT.left - 6, y + 4, hi - lo >= 1.5 ? '1e' + Math.round(Math.log10(c)) : tickLabel(c), { 'text-anchor': 'end' });
    });
    ticks(0, n, 5).forEach(function (i) {
      if (i !== Math.round(i)) return;
      node('line', { x1: costView.X(i), x2: costView.X(i), y1: PLOT.top, y2: PLOT.top + PLOT.height, 'class': 'grid' }, axes);
      text(axes, costView.X(i), PLOT.top + PLOT.height + 21, count(i), { 'text-anchor': 'middle' });
    });
    text(axes, PLOT.left + PLOT.width / 2, PLOT.top + PLOT.height + 46, 'update', { 'text-anchor': 'middle' });
    text(axes, 16, PLOT.top + PLOT.height / 2, 'cost (log scale)', { 'text-anchor': 'middle', transform: 'rotate(-90 16 ' + (PLOT.top + PLOT.height / 2) + ')' });
    var yb = costView.Y(best > 0 ? best : 1e-300);
    costLayers.best.setAttribute('x1', PLOT.left); costLayers.best.setAttribute('x2', PLOT.left + PLOT.width);
    costLayers.best.setAttribute('y1', yb); costLayers.best.setAttribute('y2', yb);
  }

  function drawCost() {
    var k = Math.min(at, result.costs.length - 1);
    var points = drawn(k, 0).map(function (i) { return costView.X(i).toFixed(1) + ',' + costView.Y(result.costs[i]).toFixed(1); });
    costLayers.curve.setAttribute('points', points.join(' '));
    costLayers.now.setAttribute('cx', costView.X(k)); costLayers.now.setAttribute('cy', costView.Y(result.costs[k]));
  }

  // --- controls -------------------------------------------------------------------------------------

  function control(name) { return document.querySelector('[data-control="' + name + '"]'); }
  function readout(name) { return document.querySelector('[data-readout="' + name + '"]'); }
  var rate = control('learning-rate'), rateExact = document.getElementById('rate-exact'), momentum = control('momentum');
  var method = document.getElementById('method'), updates = control('updates'), standardize = control('standardize');
  var startInputs = [document.getElementById('start-intercept'), document.getElementById('start-slope')];
  var playButton = control('play');
  updates.max = DATA.max_updates;

  function sliderRange(P) {
    var low = Math.min(RATE_LOW, Math.floor(Math.log10(state.learning_rate * P.L)));
    var high = Math.max(RATE_HIGH, Math.log10(state.learning_rate * P.L));
    return [low, high];
  }
  function sliderPosition(a, P) {
    var r = sliderRange(P);
    return Math.round((Math.log10(a * P.L) - r[0]) / (r[1] - r[0]) * SLIDER_STEPS);
  }
  function placeMarks(P) {
    var r = sliderRange(P);
    [1, 2].forEach(function (m) {
      var share = (Math.log10(m) - r[0]) / (r[1] - r[0]); // 1/L's label sits left of its tick, 2/L's right
      // A range input's thumb travels the width less its own (about 16 px): place the mark above it.
      document.getElementById('mark-' + m).style.left = 'calc(' + (share * 100).toFixed(3) + '% + ' + ((0.5 - share) * 16).toFixed(2) + 'px)';
    });
  }

  function syncControls() {
    var P = frameOf(state.standardize);
    rate.value = sliderPosition(state.learning_rate, P);
    rate.setAttribute('aria-valuetext', 'α = ' + rateText(state.learning_rate, P));
    document.getElementById('rate-text').textContent = rateText(state.learning_rate, P);
    if (document.activeElement !== rateExact) rateExact.value = String(state.learning_rate);
    momentum.value = state.momentum;
    document.getElementById('momentum-text').textContent = state.momentum > 0 ? num(state.momentum, 3) : '0 (plain gradient descent)';
    method.value = state.method;
    method.disabled = !(state.momentum > 0);
    if (document.activeElement !== updates) updates.value = state.updates;
    standardize.checked = state.standardize;
    startInputs.forEach(function (input, i) { if (document.activeElement !== input) input.value = String(Number(state.start[i].toPrecision(8))); });
    placeMarks(P);
  }

  function render() {
    var P = result.P, k = Math.min(at, result.thetas.length - 1);
    var theta = result.thetas[k], model = toModel(P, theta), g = gradient(P, theta);
    drawMap(); drawData(model); drawCost();
    var values = { iteration: k, intercept: model[0], slope: model[1], cost: result.costs[k], 'gradient-norm': Math.hypot(g[0], g[1]) };
    Object.keys(values).forEach(function (name) {
      var e = readout(name);
      e.textContent = name === 'iteration' ? count(values[name]) + ' of ' + count(state.updates) : num(values[name], 6);
      e.setAttribute('data-value', String(values[name]));
    });
    var v = result.verdict, badge = readout('verdict');
    badge.textContent = LABELS[v.kind];
    badge.className = 'badge ' + v.kind;
    badge.setAttribute('data-verdict', v.kind);
    document.getElementById('best-cost').textContent = num(DATA.optimum.cost, 6);
    document.getElementById('verdict-text').textContent = verdictText(state, result);
    document.getElementById('agreement').textContent = P.extended
      ? 'These data are badly conditioned: gradfit computes their gradients in double-double arithmetic, this page in '
        + 'ordinary doubles, so the two agree to about κ times the rounding error rather than to the last digit.'
      : 'These are the iterates gradfit computes: the same sums, update rules and floating-point operations. '
        + 'Use the button below for the same run in Python.';
    document.getElementById('recipe').textContent = recipe();
    if (!playing) writeFragment();
  }

  function refresh(options) {
    recompute();
    if (options && options.keep) at = Math.min(at, state.updates); else at = state.updates;
    syncControls();
    drawMapBackground(); drawCostAxes();
    render();
  }

  function change(partial, options) {
    stop();
    state = settings(partial);
    refresh(options);
  }

  rate.addEventListener('input', function () {
    var P = frameOf(state.standardize), r = sliderRange(P);
    var a = Math.pow(10, r[0] + rate.value / SLIDER_STEPS * (r[1] - r[0])) / P.L;
    change({ learning_rate: Number(a.toPrecision(SLIDER_DIGITS)) });
  });
  rateExact.addEventListener('change', function () {
    var a = Number(rateExact.value);
    if (a > 0 && isFinite(a)) change({ learning_rate: a }); else syncControls();
  });
  [1, 2].forEach(function (m) {
    document.getElementById('mark-' + m).addEventListener('click', function () { change({ learning_rate: m / frameOf(state.standardize).L }); });
  });
  momentum.addEventListener('input', function () { change({ momentum: Number(momentum.value) }); });
  method.addEventListener('change', function () { change({ method: method.value }); });
  updates.addEventListener('change', function () {
    var n = Math.round(Number(updates.value));
    if (n >= 1 && n <= DATA.max_updates) change({ updates: n }); else syncControls();
  });
  startInputs.forEach(function (input, i) {
    input.addEventListener('change', function () {
      var value = Number(input.value), start = state.start.slice();
      if (input.value !== '' && isFinite(value)) { start[i] = value; change({ start: start }); } else syncControls();
    });
  });
  standardize.addEventListener('change', function () {
    // α keeps its place between 0 and 2/L: α·L is the same in the new coordinates.
    var before = frameOf(state.standardize), after = frameOf(standardize.checked);
    var ratio = state.learning_rate * before.L;
    var a = Math.abs(ratio - 1) < 1e-12 ? 1 / after.L : Math.abs(ratio - 2) < 1e-12 ? 2 / after.L : ratio / after.L;
    change({ standardize: standardize.checked, learning_rate: a });
  });

  function step() {
    stop();
    if (at >= state.updates) { state.updates = at + 1; recompute(); syncControls(); drawCostAxes(); }
    at += 1;
    render();
  }
  function stop() {
    if (!playing) return;
    playing = false;
    playButton.textContent = 'Play';
    playButton.setAttribute('aria-pressed', 'false');
    writeFragment();
  }
  function play() {
    if (playing) { stop(); return; }
    if (at >= state.updates) at = 0;
    playing = true;
    playButton.textContent = 'Pause';
    playButton.setAttribute('aria-pressed', 'true');
    var stride = Math.max(1, Math.round(state.updates / PLAY_FRAMES));
    (function frame() {
      if (!playing) return;
      at = Math.min(at + stride, state.updates);
      render();
      if (at >= state.updates) stop(); else window.requestAnimationFrame(frame);
    })();
  }
  control('step').addEventListener('click', step);
  playButton.addEventListener('click', play);
  control('reset').addEventListener('click', function () { stop(); at = 0; render(); });

  // Dragging the start point (anywhere on the map: the start jumps there), and the arrow keys.
  function pointerTheta(event) {
    var matrix = mapSvg.getScreenCTM().inverse(), point = mapSvg.createSVGPoint();
    point.x = event.clientX; point.y = event.clientY;
    var local = point.matrixTransform(matrix);
    return unpx(view, [local.x, local.y]);
  }
  function moveStart(theta) {
    stop();
    state.start = toModel(frameOf(state.standardize), theta);
    recompute();
    at = state.updates;
    syncControls();
    render();
  }
  mapSvg.addEventListener('pointerdown', function (event) {
    dragging = true;
    mapSvg.setPointerCapture(event.pointerId);
    moveStart(pointerTheta(event));
    event.preventDefault();
  });
  mapSvg.addEventListener('pointermove', function (event) { if (dragging) moveStart(pointerTheta(event)); });
  function endDrag() {
    if (!dragging) return;
    dragging = false;
    refresh();
  }
  mapSvg.addEventListener('pointerup', endDrag);
  mapSvg.addEventListener('pointercancel', endDrag);
  setupMap();
  layers.handle.addEventListener('keydown', function (event) {
    var moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }, move = moves[event.key];
    if (!move) return;
    var distance = (event.shiftKey ? 40 : 8) / view.s, theta = fromModel(frameOf(state.standardize), state.start);
    dragging = true; // keep the view still while the point moves
    moveStart([theta[0] + move[0] * distance, theta[1] + move[1] * distance]);
    dragging = false;
    event.preventDefault();
  });
  layers.handle.addEventListener('blur', function () { refresh({ keep: true }); });

  // --- the address holds the state ---------------------------------------------------------------------

  function fragment() {
    return '#' + ['rate=' + state.learning_rate, 'momentum=' + state.momentum, 'method=' + state.method,
                  'updates=' + state.updates, 'start=' + state.start[0] + ',' + state.start[1],
                  'coordinates=' + (state.standardize ? 'standardized' : 'raw'), 'at=' + at].join('&');
  }
  function writeFragment() {
    var wanted = fragment();
    if (window.location.hash === wanted) return;
    try { window.history.replaceState(null, '', wanted); } catch (error) { /* some file:// pages refuse it */ }
  }
  function readFragment() {
    var hash = window.location.hash.replace(/^#/, '');
    if (!hash) return false;
    var found = {}, shown = null;
    hash.split('&').forEach(function (pair) {
      var parts = pair.split('='), key = decodeURIComponent(parts[0]), value = decodeURIComponent(parts.slice(1).join('='));
      if (key === 'rate') found.learning_rate = Number(value);
      else if (key === 'momentum') found.momentum = Number(value);
      else if (key === 'method') found.method = value;
      else if (key === 'updates') found.updates = Number(value);
      else if (key === 'start') found.start = value.split(',').map(Number);
      else if (key === 'coordinates') found.standardize = value === 'standardized';
      else if (key === 'at') shown = Math.round(Number(value));
    });
    try { state = settings(found); } catch (error) { return false; }
    recompute();
    at = shown !== null && shown >= 0 ? Math.min(shown, state.updates) : state.updates;
    syncControls(); drawMapBackground(); drawCostAxes(); render();
    return true;
  }
  window.addEventListener('hashchange', function () { if (window.location.hash !== fragment()) readFragment(); });

  // --- the same run as a command line and a Python call --------------------------------------------------

  function shellWord(word) { return /^[A-Za-z0-9_.,:\/=+@%-]+$/.test(word) ? word : "'" + word.replace(/'/g, "'\\''") + "'"; }
  function python(x) { return Number.isInteger(x) ? x.toFixed(1) : String(x); }
  function recipe() {
    var s = state, solver = solverName(s), recipeData = DATA.recipe;
    var final = toModel(result.P, result.thetas[result.thetas.length - 1]);
    var lines = ['# The run on this page: ' + count(s.updates) + ' updates, ending at intercept ' + num(final[0], 6) + ', slope ' + num(final[1], 6) + '.'];
    var plain = solver === 'gd', fromArticle = s.start[0] === 1 && s.start[1] === 1;
    if (recipeData.demo) {
      if (plain && !s.standardize && fromArticle) {
        lines.push(recipeData.demo.concat(['--learning-rate', String(s.learning_rate), '--max-iter', String(s.updates)]).map(shellWord).join(' '));
      } else {
        lines.push('# The command line cannot run this one: gradfit demo is plain gradient descent in the raw');
        lines.push('# coordinates from intercept 1 and slope 1. The Python call below runs it exactly.');
      }
    } else if (recipeData.fit) {
      var words = recipeData.fit.concat(['--solver', solver, '--learning-rate', String(s.learning_rate), '--max-iter', String(s.updates), '--tol', '0']);
      if (!s.standardize) words.push('--no-standardize');
      lines.push(words.map(shellWord).join(' '));
      lines.push('# The command line starts from its own point' + (plain ? '' : ' and picks β itself') + '; the Python call below starts from yours'
        + (plain ? '.' : ' with your β.'));
    }
    lines.push('');
    lines.push('from gradfit import LinearRegression');
    lines.push(recipeData.python_data);
    var parameters = ['solver="' + solver + '"', 'learning_rate=' + python(s.learning_rate)];
    if (!plain) parameters.push('momentum=' + python(s.momentum));
    parameters.push('max_iter=' + s.updates, 'tol=0', 'standardize=' + (s.standardize ? 'True' : 'False'));
    lines.push('model = LinearRegression(' + parameters.join(', ') + ')');
    lines.push('model.fit(X, y, coef_init=[' + python(s.start[1]) + '], intercept_init=' + python(s.start[0]) + ')');
    lines.push('print(model.intercept_, model.coef_[0])');
    return lines.join('\n');
  }
  document.getElementById('copy').addEventListener('click', function () {
    var status = document.getElementById('copy-status'), content = recipe();
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(document.getElementById('recipe'));
      var selection = window.getSelection();
      selection.removeAllRanges(); selection.addRange(range);
      var copied = false;
      try { copied = document.execCommand('copy'); } catch (error) { copied = false; }
      status.textContent = copied ? 'Copied.' : 'Selected: press Ctrl+C (⌘C) to copy.';
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(content).then(function () { status.textContent = 'Copied.'; }, fallback);
    } else {
      fallback();
    }
  });

  // --- the contract, for tests and embedding -------------------------------------------------------------

  function outcome(r, s, k) {
    var theta = toModel(r.P, r.thetas[k]);
    return { theta: theta, costs: r.costs.slice(0, k), cost: r.costs[k], verdict: r.verdict.kind, iteration: k };
  }
  window.gradfitExplorer = {
    run: function (options) {
      var s = settings(options || {}), r = simulate(s);
      var out = outcome(r, s, r.thetas.length - 1);
      out.updates_needed = r.verdict.needed === undefined ? null : r.verdict.needed;
      out.diverged_at = r.verdict.kind === 'diverging' ? r.verdict.at : null;
      return out;
    },
    state: function () {
      var k = Math.min(at, result.thetas.length - 1), out = outcome(result, state, k);
      out.path = result.thetas.slice(0, k + 1).map(function (t) { return toModel(result.P, t); });
      out.settings = JSON.parse(JSON.stringify(state));
      out.fragment = fragment();
      return out;
    },
    set: function (options) { change(options || {}); return this.state(); },
    get verdict() { return result.verdict.kind; },
    lipschitz: function (standardize) { return frameOf(Boolean(standardize)).L; }
  };

  setupData();
  setupCost();
  if (!readFragment()) refresh();
})();
