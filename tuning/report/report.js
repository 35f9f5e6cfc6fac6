/* The report's interactive parts, drawn with Plotly from the page's own JSON (#page-data).

   index page: optimisation history, slice plots, parallel coordinates, importances beside the
   seed-noise share, the compare view, column toggling and sorting of the configs table.
   config page: every seed's learning curves (log scale, per-seed toggles, curve pair), the
   per-seed differences from the best.
   Both: served by `tuning serve` (which adds a tuning-live meta tag), the page asks live.json
   every few seconds whether the store moved, and when it did fetches its own HTML again and
   swaps the parts marked data-live and its data in place, then redraws: new fits appear, no
   reload. Opened from a file, it never polls. Text from the study is only ever set as text
   (textContent, Plotly labels with < and > escaped), never parsed as markup. */
(function () {
  "use strict";
  var body = document.body;
  var root = body.getAttribute("data-root") || "";
  var kind = body.getAttribute("data-page");
  var CONFIG = {displaylogo: false, responsive: true};
  var COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"];
  var data = readData(document);
  var drawn = {};
  var havePlotly = typeof window.Plotly !== "undefined";

  function readData(doc) {
    var el = doc.getElementById("page-data");
    return el ? JSON.parse(el.textContent) : null;
  }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) { return "–"; }
    var a = Math.abs(v);
    return (a !== 0 && (a < 1e-3 || a >= 1e5)) ? v.toExponential(3) : String(+v.toPrecision(4));
  }
  function plain(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = text; }
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function draw(id, traces, layout) {
    var div = document.getElementById(id);
    if (!div || !havePlotly) { return; }
    layout = Object.assign({margin: {l: 60, r: 20, t: 20, b: 50}, hovermode: "closest",
                            legend: {orientation: "h", y: -0.2}}, layout);
    window.Plotly.react(div, traces, layout, CONFIG);
    drawn[id] = true;
  }
  function finite(v) { return v !== null && isFinite(v); }
  function better(a, b) { return data.direction === "maximize" ? a > b : a < b; }

  /* ---- index page ------------------------------------------------------------------------ */

  function seedPoints(configs, x) {
    var xs = [], ys = [], cd = [];
    configs.forEach(function (c) {
      c.seeds.forEach(function (s, i) {
        if (c.scores[i] === null) { return; }
        xs.push(x(c)); ys.push(c.scores[i]);
        cd.push([s, fmt(c.scores[i]), fmt(c.seconds[i]), plain(c.name), fmt(c.aggregate)]);
      });
    });
    return {x: xs, y: ys, customdata: cd};
  }
  /* Past this many dots a plot draws with WebGL: 10,000 SVG circles took the index page over its
     3 s budget (docs/performance_report.md). */
  var GL_ABOVE = 3000;
  var SEED_HOVER = "%{customdata[3]}<br>seed %{customdata[0]}: %{customdata[1]}<br>fit %{customdata[2]} s" +
                   "<br>config's aggregate %{customdata[4]}<extra></extra>";

  function history() {
    var cs = data.configs.filter(function (c) { return c.trial !== null; })
      .sort(function (a, b) { return a.trial - b.trial; });
    var dots = seedPoints(cs, function (c) { return c.trial; });
    var traces = [Object.assign({type: dots.x.length > GL_ABOVE ? "scattergl" : "scatter", mode: "markers", name: "seed score", hovertemplate: SEED_HOVER,
                                 marker: {size: 6, color: "#1f77b4", opacity: 0.55}}, dots)];
    var ranked = cs.filter(function (c) { return c.aggregate !== null && !c.pruned; });
    var kept = ranked.filter(function (c) { return !c.dropped; });
    var dropped = ranked.filter(function (c) { return c.dropped; });
    [[kept, "config " + data.aggregate + " (bar: seed range)", "#d62728", "diamond"],
     [dropped, "dropped by the race", "#7f7f7f", "diamond-open"]].forEach(function (part) {
      if (!part[0].length) { return; }
      traces.push({type: "scatter", mode: "markers", name: part[1], x: part[0].map(function (c) { return c.trial; }),
                   y: part[0].map(function (c) { return c.aggregate; }),
                   customdata: part[0].map(function (c) {
                     var s = c.scores.filter(function (v) { return v !== null; });
                     return [plain(c.name), fmt(c.aggregate), s.length, plain(c.race || "")];
                   }),
                   error_y: {type: "data", symmetric: false, thickness: 1, width: 0, color: part[2],
                             array: part[0].map(function (c) { return Math.max.apply(null, c.scores.filter(finite)) - c.aggregate; }),
                             arrayminus: part[0].map(function (c) { return c.aggregate - Math.min.apply(null, c.scores.filter(finite)); })},
                   marker: {symbol: part[3], size: 8, color: part[2]},
                   hovertemplate: "%{customdata[0]}<br>" + data.aggregate + " %{customdata[1]} over %{customdata[2]} seeds" +
                                  "<br>%{customdata[3]}<extra></extra>"});
    });
    var bx = [], by = [], lo = [], hi = [], best = null;
    ranked.forEach(function (c) {
      if (best === null || better(c.aggregate, best.aggregate)) { best = c; }
      var s = best.scores.filter(function (v) { return v !== null; });
      bx.push(c.trial); by.push(best.aggregate);
      lo.push(Math.min.apply(null, s)); hi.push(Math.max.apply(null, s));
    });
    if (bx.length) {
      traces.push({type: "scatter", mode: "lines", x: bx, y: lo, line: {width: 0, shape: "hv"}, hoverinfo: "skip",
                   showlegend: false});
      traces.push({type: "scatter", mode: "lines", x: bx, y: hi, fill: "tonexty", fillcolor: "rgba(44,160,44,0.18)",
                   line: {width: 0, shape: "hv"}, hoverinfo: "skip", name: "seed range of the best so far"});
      traces.push({type: "scatter", mode: "lines", x: bx, y: by, line: {color: "#2ca02c", width: 2, shape: "hv"},
                   name: "best " + data.aggregate + " so far", hovertemplate: "best so far %{y:.4g}<extra></extra>"});
    }
    var cut = [];
    cs.forEach(function (c) { c.cut.forEach(function (f) { if (f[1] !== null) { cut.push([c, f]); } }); });
    if (cut.length) {
      traces.push({type: "scatter", mode: "markers", name: "pruned fit (stopped early)",
                   x: cut.map(function (p) { return p[0].trial; }), y: cut.map(function (p) { return p[1][1]; }),
                   customdata: cut.map(function (p) { return [plain(p[0].name), p[1][0], p[1][2]]; }),
                   marker: {symbol: "x", size: 7, color: "#7f7f7f"},
                   hovertemplate: "%{customdata[0]}<br>seed %{customdata[1]} pruned after %{customdata[2]} epochs: %{y:.4g}<extra></extra>"});
    }
    draw("plot-history", traces, {xaxis: {title: {text: "trial"}}, yaxis: {title: {text: plain(data.metric)}}});
  }

  function race() {
    var raced = data.configs.filter(function (c) { return c.race_seeds !== null && c.race_seeds !== undefined; })
      .sort(function (a, b) { return a.race_seeds - b.race_seeds || b.dropped - a.dropped; });
    if (!raced.length) { return; }
    draw("plot-race", [{type: "bar", orientation: "h", y: raced.map(function (c) { return "trial " + c.trial; }),
                        x: raced.map(function (c) { return c.race_seeds; }),
                        marker: {color: raced.map(function (c) { return c.dropped ? "#a6a6a6" : "#1f4e79"; })},
                        customdata: raced.map(function (c) { return [plain(c.name), plain(c.race || "")]; }),
                        hovertemplate: "%{customdata[0]}: %{x} seeds<br>%{customdata[1]}<extra></extra>"}],
         {xaxis: {title: {text: "seeds the config got"}, dtick: 1}, yaxis: {automargin: true}, showlegend: false,
          height: Math.min(1200, 120 + 22 * raced.length)});
  }

  function slices() {
    var box = document.getElementById("plot-slices");
    if (!box) { return; }
    /* Every cell of the grid first: a plot drawn while it is the grid's only item takes the
       whole row's width and keeps it, half hidden under the next one. */
    data.params.forEach(function (p, i) {
      if (!document.getElementById("plot-slice-" + i)) {
        box.appendChild(el("div", null, {id: "plot-slice-" + i, "class": "plot", role: "img",
                                         "aria-label": "slice plot of " + p.name}));
      }
    });
    data.params.forEach(function (p, i) {
      var id = "plot-slice-" + i;
      var value = function (c) { return p.categorical ? plain(c.params[i]) : c.params[i]; };
      var ranked = data.configs.filter(function (c) { return c.aggregate !== null; });
      var dots = seedPoints(data.configs, value);
      draw(id, [Object.assign({type: dots.x.length > GL_ABOVE ? "scattergl" : "scatter", mode: "markers", name: "seed score",
                               hovertemplate: SEED_HOVER, marker: {size: 6, opacity: 0.5, color: "#1f77b4"}}, dots),
                {type: "scatter", mode: "markers", name: "config " + data.aggregate, x: ranked.map(value),
                 y: ranked.map(function (c) { return c.aggregate; }), marker: {symbol: "diamond", size: 8, color: "#d62728"},
                 customdata: ranked.map(function (c) { return plain(c.name); }),
                 hovertemplate: "%{customdata}<br>" + data.aggregate + " %{y:.4g}<extra></extra>"}],
           {xaxis: {title: {text: plain(p.name)}, type: p.log ? "log" : (p.categorical ? "category" : "-"),
                    categoryorder: p.levels ? "array" : "trace", categoryarray: (p.levels || []).map(plain)},
            yaxis: {title: {text: plain(data.metric)}}, showlegend: i === 0, height: 340});
    });
  }

  function parallel() {
    var ranked = data.configs.filter(function (c) { return c.aggregate !== null && !c.pruned; });
    if (!ranked.length || !data.params.length) { return; }
    var dims = data.params.map(function (p, i) {
      var values = ranked.map(function (c) { return c.params[i]; });
      if (p.categorical) {
        var levels = p.levels || Array.from(new Set(values.map(String))).sort();
        return {label: plain(p.name), values: values.map(function (v) { return levels.indexOf(String(v)); }),
                tickvals: levels.map(function (_, k) { return k; }), ticktext: levels.map(plain)};
      }
      if (p.log) {
        var logs = values.map(function (v) { return Math.log10(v); });
        var ticks = [];
        for (var t = Math.floor(Math.min.apply(null, logs)); t <= Math.ceil(Math.max.apply(null, logs)); t++) { ticks.push(t); }
        return {label: plain(p.name) + " (log)", values: logs, tickvals: ticks, ticktext: ticks.map(function (t) { return "1e" + t; })};
      }
      return {label: plain(p.name), values: values};
    });
    var agg = ranked.map(function (c) { return c.aggregate; });
    dims.push({label: data.aggregate + " " + plain(data.metric), values: agg});
    draw("plot-parallel", [{type: "parcoords", dimensions: dims,
                            line: {color: agg, colorscale: "Viridis", reversescale: data.direction !== "maximize",
                                   showscale: true, colorbar: {title: {text: plain(data.metric)}}}}],
         {margin: {l: 70, r: 70, t: 50, b: 30}});
  }

  function importance() {
    var v = data.variance;
    if (!v || v.seed === null) { return; }
    var names = ["seed noise"].concat(v.params.map(function (p) { return plain(p[0]); }));
    var shares = [v.seed].concat(v.params.map(function (p) { return p[1]; }));
    draw("plot-importance", [{type: "bar", orientation: "h", y: names.slice().reverse(),
                              x: shares.map(function (s) { return 100 * s; }).reverse(),
                              text: shares.map(function (s) { return (100 * s).toFixed(0) + " %"; }).reverse(),
                              textposition: "auto",
                              marker: {color: names.map(function (n, i) { return i === 0 ? "#7f7f7f" : "#1f77b4"; }).reverse()},
                              hovertemplate: "%{y}: %{x:.1f} % of the variance<extra></extra>"}],
         {xaxis: {title: {text: "% of the variance in " + plain(data.metric)}, range: [0, 100]}, showlegend: false,
          height: 120 + 40 * names.length, margin: {l: 130, r: 20, t: 10, b: 50}});
  }

  /* Regularised incomplete beta I_x(a, b) by its continued fraction (Lentz), for Student's t. */
  function logGamma(z) {
    var g = [676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
             12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
    if (z < 0.5) { return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z); }
    z -= 1;
    var x = 0.99999999999980993;
    for (var i = 0; i < 8; i++) { x += g[i] / (z + i + 1); }
    var t = z + 7.5;
    return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
  }
  function betaFraction(x, a, b) {
    var tiny = 1e-300, c = 1, d = 1 - (a + b) * x / (a + 1);
    d = 1 / (Math.abs(d) < tiny ? tiny : d);
    var h = d;
    for (var m = 1; m <= 300; m++) {
      var m2 = 2 * m, num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
      d = 1 + num * d; d = 1 / (Math.abs(d) < tiny ? tiny : d); c = 1 + num / c; c = Math.abs(c) < tiny ? tiny : c;
      h *= d * c;
      num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
      d = 1 + num * d; d = 1 / (Math.abs(d) < tiny ? tiny : d); c = 1 + num / c; c = Math.abs(c) < tiny ? tiny : c;
      var step = d * c;
      h *= step;
      if (Math.abs(step - 1) < 1e-12) { break; }
    }
    return h;
  }
  function incompleteBeta(x, a, b) {
    if (x <= 0) { return 0; }
    if (x >= 1) { return 1; }
    var front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
    return x < (a + 1) / (a + b + 2) ? front * betaFraction(x, a, b) / a : 1 - front * betaFraction(1 - x, b, a) / b;
  }
  /* Two-sided p of Student's t with df degrees of freedom. */
  function tTwoSided(t, df) { return incompleteBeta(df / (df + t * t), df / 2, 0.5); }
  window.tuningStudentP = tTwoSided;

  function byKey(key) { return data.configs.filter(function (c) { return c.key === key; })[0]; }

  function compareOptions() {
    var a = document.getElementById("compare-a"), b = document.getElementById("compare-b");
    if (!a || !b) { return; }
    var keep = [a.value, b.value];
    var ranked = data.configs.filter(function (c) { return c.seeds.length; }).slice()
      .sort(function (x, y) { return (x.rank === null) - (y.rank === null) || x.rank - y.rank; });
    [a, b].forEach(function (select, i) {
      select.textContent = "";
      ranked.forEach(function (c) {
        select.appendChild(el("option", (c.rank !== null ? "#" + c.rank + " " : "") + c.name + " · " +
                              data.aggregate + " " + fmt(c.aggregate), {value: c.key}));
      });
      if (keep[i] && byKey(keep[i])) { select.value = keep[i]; } else if (ranked[i]) { select.value = ranked[i].key; }
    });
    var hash = /compare=([^,&]+),([^,&]+)/.exec(location.hash);
    if (hash && !compareOptions.done) {
      compareOptions.done = true;
      [decodeURIComponent(hash[1]), decodeURIComponent(hash[2])].forEach(function (k, i) {
        if (byKey(k)) { [a, b][i].value = k; }
      });
      document.getElementById("compare-title").scrollIntoView();
    }
  }

  function compare() {
    var a = byKey((document.getElementById("compare-a") || {}).value);
    var b = byKey((document.getElementById("compare-b") || {}).value);
    var verdict = document.getElementById("compare-verdict");
    if (!a || !b || !verdict) { return; }
    var mine = {};
    b.seeds.forEach(function (s, i) { if (b.scores[i] !== null) { mine[s] = b.scores[i]; } });
    var pairs = [];
    a.seeds.forEach(function (s, i) { if (a.scores[i] !== null && s in mine) { pairs.push([s, a.scores[i], mine[s], a.scores[i] - mine[s]]); } });
    var tbody = document.querySelector("#compare-table tbody");
    tbody.textContent = "";
    pairs.forEach(function (p) {
      var tr = el("tr");
      p.forEach(function (v, i) { tr.appendChild(el("td", i === 0 ? String(v) : fmt(v))); });
      tbody.appendChild(tr);
    });
    var n = pairs.length, text;
    if (a.key === b.key) {
      text = "the same config twice: pick two different ones";
    } else if (n < 2) {
      text = "A and B share " + n + " seed" + (n === 1 ? "" : "s") + ": a paired comparison needs 2 or more";
    } else {
      var diffs = pairs.map(function (p) { return p[3]; });
      var mean = diffs.reduce(function (s, v) { return s + v; }, 0) / n;
      var sd = Math.sqrt(diffs.reduce(function (s, v) { return s + (v - mean) * (v - mean); }, 0) / (n - 1));
      var se = sd / Math.sqrt(n), crit = data.tcrit[n - 1];
      var lo = mean - crit * se, hi = mean + crit * se;
      var p = se > 0 ? tTwoSided(mean / se, n - 1) : (mean === 0 ? 1 : 0);
      var told = "mean difference A − B " + fmt(mean) + ", 95 % interval [" + fmt(lo) + ", " + fmt(hi) + "], p = " +
                 (p < 1e-4 ? p.toExponential(1) : String(+p.toPrecision(2))) + " (paired t over " + n + " shared seeds)";
      var m = data.margin;
      if (lo > 0 || hi < 0) {
        var aBetter = data.direction === "maximize" ? mean > 0 : mean < 0;
        text = (aBetter ? "A" : "B") + " is better beyond seed noise: " + told;
      } else if (m !== null && lo > -m && hi < m) {
        text = "equivalent within the margin " + fmt(m) + ": " + told;
      } else {
        text = "not told apart by these seeds: " + told + "; more seeds would tell";
      }
    }
    verdict.textContent = text;
    draw("plot-compare", [{type: "scatter", mode: "markers", x: pairs.map(function (p) { return String(p[0]); }),
                           y: pairs.map(function (p) { return p[3]; }), marker: {size: 9, color: "#9467bd"},
                           customdata: pairs.map(function (p) { return [fmt(p[1]), fmt(p[2])]; }),
                           hovertemplate: "seed %{x}: A %{customdata[0]}, B %{customdata[1]}, A − B %{y:.4g}<extra></extra>",
                           name: "A − B"}],
         {xaxis: {title: {text: "seed"}, type: "category"}, yaxis: {title: {text: "A − B (" + plain(data.metric) + ")"},
          zeroline: true, zerolinewidth: 2}, showlegend: false, height: 320});
  }

  /* Rows of a sortable table in the order of column `col`; "–" (no value) last either way. */
  function sortRows(table, col, asc) {
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var key = function (row) {
      var c = row.cells[col];
      if (c.hasAttribute("data-sort")) { return c.getAttribute("data-sort"); }
      var text = c.textContent.trim();
      return text === "–" ? "" : text;
    };
    var numeric = rows.every(function (r) { return r.cells[col].hasAttribute("data-sort") || key(r) === ""; });
    rows.sort(function (x, y) {
      var p = key(x), q = key(y);
      if (p === "" || q === "") { return (p === "") - (q === ""); }
      if (numeric) { return asc ? parseFloat(p) - parseFloat(q) : parseFloat(q) - parseFloat(p); }
      return asc ? p.localeCompare(q) : q.localeCompare(p);
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
    table.setAttribute("data-sorted", col + (asc ? ":asc" : ":desc"));  /* kept across live updates */
  }

  /* After a live update replaced a table's rows: in the order the user had chosen. */
  function resort() {
    document.querySelectorAll("table.sortable[data-sorted]").forEach(function (table) {
      var how = table.getAttribute("data-sorted").split(":");
      sortRows(table, parseInt(how[0], 10), how[1] === "asc");
    });
  }

  function sortable() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      var headers = table.tHead.rows[0].cells;
      Array.prototype.forEach.call(headers, function (th, col) {
        th.tabIndex = 0;
        var sort = function () {
          var asc = th.getAttribute("aria-sort") !== "ascending";
          Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", asc ? "ascending" : "descending");
          sortRows(table, col, asc);
        };
        th.addEventListener("click", sort);
        th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
      });
    });
    /* A click anywhere on a config's row opens its page (the config cell is the link keyboards reach). */
    var rows = document.getElementById("summary-body");
    if (rows) {
      rows.addEventListener("click", function (e) {
        if (e.target.closest("a") || (window.getSelection && String(window.getSelection()))) { return; }
        var row = e.target.closest("tr"), link = row && row.querySelector("a[href]");
        if (link) { location.href = link.href; }
      });
    }
    var all = document.getElementById("all-columns");
    if (all) {
      all.addEventListener("change", function () {
        document.getElementById("summary").classList.toggle("compact", !all.checked);
      });
    }
  }

  /* Below-the-fold plots are drawn when scrolled to, so the page is usable before they are. */
  function whenVisible(id, fn) {
    var target = document.getElementById(id);
    if (!target) { return; }
    if (!("IntersectionObserver" in window)) { fn(); return; }
    var seen = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) { seen.disconnect(); fn(); }
    }, {rootMargin: "200px"});
    seen.observe(target);
  }

  function drawIndex(first) {
    history();
    compareOptions();
    if (first) {
      whenVisible("plot-compare", compare);
      whenVisible("plot-race", race);
      whenVisible("plot-slices", slices);
      whenVisible("plot-parallel", parallel);
      whenVisible("plot-importance", importance);
      ["compare-a", "compare-b"].forEach(function (id) {
        var s = document.getElementById(id);
        if (s) { s.addEventListener("change", compare); }
      });
      window.addEventListener("hashchange", function () { compareOptions.done = false; compareOptions(); compare(); });
    } else {
      if (drawn["plot-compare"]) { compare(); }
      if (drawn["plot-race"]) { race(); }
      if (drawn["plot-slice-0"]) { slices(); }
      if (drawn["plot-parallel"]) { parallel(); }
      if (drawn["plot-importance"]) { importance(); }
    }
  }

  /* ---- config page ----------------------------------------------------------------------- */

  var hidden = {};

  function curvePairs() {
    var names = {};
    data.curves.forEach(function (f) { Object.keys(f.curves).forEach(function (n) { names[n.replace(/^val_/, "")] = true; }); });
    return Object.keys(names).sort(function (a, b) { return (b === "loss") - (a === "loss") || a.localeCompare(b); });
  }

  function curves() {
    var pick = document.getElementById("curve-pair");
    var pairs = curvePairs();
    if (pick.options.length !== pairs.length) {
      var keep = pick.value;
      pick.textContent = "";
      pairs.forEach(function (n) { pick.appendChild(el("option", n + " / val_" + n, {value: n})); });
      if (keep && pairs.indexOf(keep) >= 0) { pick.value = keep; }
    }
    var base = pick.value || "loss";
    var traces = [];
    data.curves.forEach(function (f, i) {
      var colour = COLOURS[i % COLOURS.length], group = "seed " + f.seed;
      [[base, "dash", "train"], ["val_" + base, "solid", "val"]].forEach(function (part, j) {
        var y = f.curves[part[0]];
        if (!y) { return; }
        traces.push({type: "scatter", mode: "lines", name: group, legendgroup: group, showlegend: j === 0 || !f.curves[base],
                     x: y.map(function (_, e) { return e + 1; }), y: y, line: {color: colour, dash: part[1], width: 1.6},
                     visible: hidden[f.seed] ? "legendonly" : true, meta: f.seed,
                     hovertemplate: group + " " + part[2] + " " + plain(part[0]) + "<br>epoch %{x}: %{y:.4g}<extra></extra>"});
      });
    });
    var log = document.getElementById("log-scale").checked;
    draw("plot-curves", traces, {xaxis: {title: {text: "epoch"}}, yaxis: {title: {text: plain(base)}, type: log ? "log" : "linear"},
                                 legend: {orientation: "v", x: 1.02, y: 1}, margin: {l: 60, r: 120, t: 20, b: 50}});
    var box = document.getElementById("seed-toggles");
    box.textContent = "";
    data.curves.forEach(function (f) {
      var label = el("label"), input = el("input", null, {type: "checkbox", "data-seed": String(f.seed)});
      input.checked = !hidden[f.seed];
      input.addEventListener("change", function () { toggleSeed(f.seed, input.checked); });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" seed " + f.seed));
      box.appendChild(label);
    });
  }

  function toggleSeed(seed, shown) {
    hidden[seed] = !shown;
    var div = document.getElementById("plot-curves");
    var idx = [];
    div.data.forEach(function (t, i) { if (t.meta === seed) { idx.push(i); } });
    if (idx.length) { window.Plotly.restyle(div, {visible: shown ? true : "legendonly"}, idx); }
  }

  function differences() {
    var c = data.comparison;
    if (!c || !c.pairs.length || !document.getElementById("plot-diff")) { return; }
    draw("plot-diff", [{type: "scatter", mode: "markers", x: c.pairs.map(function (p) { return String(p[0]); }),
                        y: c.pairs.map(function (p) { return p[3]; }), marker: {size: 9, color: "#9467bd"},
                        customdata: c.pairs.map(function (p) { return [fmt(p[1]), fmt(p[2])]; }),
                        hovertemplate: "seed %{x}: this %{customdata[0]}, best %{customdata[1]}, difference %{y:.4g}<extra></extra>"}],
         {xaxis: {title: {text: "seed"}, type: "category"}, yaxis: {title: {text: "this − best"}, zeroline: true, zerolinewidth: 2},
          showlegend: false, height: 300});
  }

  function drawConfig(first) {
    curves();
    differences();
    if (first) {
      document.getElementById("curve-pair").addEventListener("change", curves);
      document.getElementById("log-scale").addEventListener("change", function (e) {
        window.Plotly.relayout("plot-curves", {"yaxis.type": e.target.checked ? "log" : "linear"});
      });
      // legend clicks hide a seed too: keep the checkboxes in step
      document.getElementById("plot-curves").on("plotly_restyle", function () {
        var div = document.getElementById("plot-curves");
        div.data.forEach(function (t) { hidden[t.meta] = t.visible === "legendonly"; });
        document.querySelectorAll("#seed-toggles input").forEach(function (i) {
          i.checked = !hidden[i.getAttribute("data-seed")];
        });
      });
    }
  }

  /* ---- live updates ---------------------------------------------------------------------- */

  function redraw(first) {
    if (!data || !havePlotly) { return; }
    if (kind === "index") { drawIndex(first); } else if (kind === "config") { drawConfig(first); }
    window.tuningDrawn = performance.now();
  }

  function live() {
    var tag = document.querySelector('meta[name="tuning-live"]');
    if (!tag || !window.fetch || !window.DOMParser) { return; }
    var every = 1000 * parseFloat(tag.getAttribute("content"));
    var built = tag.getAttribute("data-built");
    var note = document.getElementById("live");
    if (note) { note.hidden = false; }
    function refresh() {
      return fetch(location.pathname, {cache: "no-store"}).then(function (r) { return r.text(); }).then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        doc.querySelectorAll("[data-live]").forEach(function (fresh) {
          var mine = document.getElementById(fresh.id);
          if (mine) { mine.innerHTML = fresh.innerHTML; }
        });
        resort();
        var stamp = doc.querySelector('meta[name="tuning-live"]');
        if (stamp) { built = stamp.getAttribute("data-built"); }
        data = readData(doc) || data;
        redraw(false);
        window.tuningUpdates = (window.tuningUpdates || 0) + 1;
      });
    }
    function poll() {
      fetch(root + "live.json", {cache: "no-store"}).then(function (r) { return r.json(); })
        .then(function (s) { return s.current !== built ? refresh() : null; })
        .catch(function () { return null; })
        .then(function () { setTimeout(poll, every); });
    }
    setTimeout(poll, every);
  }

  if (kind === "index") { sortable(); }
  redraw(true);
  live();
})();
