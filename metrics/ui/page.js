// The page's script (metrics/ui_page.cpp embeds this file): fetches /api/v1/summary every
// interval and renders the same markup as the server does (keep the two in step), plus the
// chart. Text from the machine only ever goes through textContent, never through HTML.
"use strict";
(function () {
  var body = document.body;
  var interval = Math.max(1, Number(body.dataset.interval) || 5) * 1000;
  var colors = ["#1f6feb", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#c2255c"];
  var methods = {counter: "measured energy counter", integrated_power: "measured power, integrated", estimate: "estimate"};
  var svgNs = "http://www.w3.org/2000/svg";

  // ------------------------------------------------------------------ formatting (as ui_page.cpp)
  function threeDigits(v) {
    var m = Math.abs(v);
    return v.toFixed(m < 1 ? 3 : m < 10 ? 2 : m < 100 ? 1 : 0);
  }
  function watts(v) { return v == null ? "—" : threeDigits(v) + " W"; }
  function joules(v) {
    var units = ["J", "kJ", "MJ", "GJ", "TJ"], u = 0;
    while (v >= 1000 && u + 1 < units.length) { v /= 1000; u++; }
    return threeDigits(v) + " " + units[u];
  }
  function percent(r) { return (r * 100).toFixed(1) + " %"; }
  function when(seconds) {
    if (!seconds) return "never";
    var ago = Date.now() / 1000 - seconds;
    var at = new Date(seconds * 1000).toLocaleTimeString();
    return ago >= 0 && ago < 3600 ? at + " (" + Math.round(ago) + " s ago)" : at;
  }
  function meterText(z) {
    if (!z.meter || !z.meter.source) return "unknown";
    var text = z.meter.source + ": " + (methods[z.meter.method] || z.meter.method);
    return z.meter.model ? text + " " + z.meter.model : text;
  }

  // ------------------------------------------------------------------ DOM helpers
  // el("td", {class: "num"}, "text", child, …): attributes are set as attributes, text as text.
  function el(tag, attrs) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child == null) continue;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function table(headings, rows, id) {
    var head = el("tr");
    headings.forEach(function (h) { head.appendChild(el("th", h.cls ? {class: h.cls} : {}, h.text)); });
    var tbody = el("tbody");
    rows.forEach(function (r) { tbody.appendChild(r); });
    return el("div", {class: "scroll"}, el("table", id ? {id: id} : {}, el("thead", {}, head), tbody));
  }
  function section(id, title, wide) {
    var attrs = {id: id};
    if (wide) attrs.class = "wide";
    return el("section", attrs, title);
  }

  // ------------------------------------------------------------------ sections
  function zones(s) {
    var rows = s.zones.map(function (z) {
      return el("tr", {"data-zone": z.name}, el("td", {}, z.name), el("td", {class: "num watts big"}, watts(z.watts)),
                el("td", {class: "num opt"}, watts(z.active_watts)), el("td", {class: "num opt"}, watts(z.idle_watts)),
                el("td", {class: "num"}, joules(z.joules)), el("td", {class: "meter opt"}, meterText(z)));
    });
    if (!rows.length) rows.push(el("tr", {}, el("td", {colspan: 6, class: "muted"}, "No power meter: CPU time and health only.")));
    var note = "CPU usage " + percent(s.usage_ratio) + ".";
    if (s.ranked_zone) note += " Workloads are ranked by their power in the " + s.ranked_zone + " zone; shares are of its active power.";
    var out = section("power", el("h2", {}, "Node power now"), true);
    out.appendChild(table([{text: "Zone"}, {text: "Power", cls: "num"}, {text: "Active", cls: "num opt"},
                           {text: "Idle", cls: "num opt"}, {text: "Energy since start", cls: "num"},
                           {text: "Meter", cls: "opt"}], rows, "zones"));
    out.appendChild(el("p", {class: "note"}, note));
    return out;
  }

  function chart(history) {
    var out = section("history", el("h2", {}, "Last 15 minutes"), true);
    var points = history.points, n = history.zones.length;
    var box = el("div", {id: "chart"});
    out.appendChild(box);
    if (points.length < 2) { box.appendChild(el("p", {class: "muted"}, "Collecting: the chart starts with the second snapshot.")); return out; }
    // As wide as the screen allows, so the labels keep their size on a phone.
    var w = Math.max(300, Math.min(1150, window.innerWidth - 60)), h = 220, left = 52, bottom = 20, top = 8;
    var t0 = points[0][0], t1 = points[points.length - 1][0], max = 0;
    points.forEach(function (p) { for (var z = 1; z <= n; z++) if (p[z] > max) max = p[z]; });
    max = max > 0 ? max * 1.1 : 1;
    var x = function (t) { return left + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (w - left - 4); };
    var y = function (v) { return top + (1 - v / max) * (h - top - bottom); };
    var svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Node power per zone over the last 15 minutes");
    function add(tag, attrs, text) {
      var node = document.createElementNS(svgNs, tag);
      for (var k in attrs) node.setAttribute(k, attrs[k]);
      if (text != null) node.textContent = text;
      svg.appendChild(node);
    }
    [0, 0.5, 1].forEach(function (f) {
      add("line", {class: "axis", x1: left, x2: w, y1: y(max * f), y2: y(max * f)});
      add("text", {x: 2, y: y(max * f) + 4}, watts(max * f));
    });
    add("text", {x: left, y: h - 4}, new Date(t0 * 1000).toLocaleTimeString());
    add("text", {x: w - 70, y: h - 4}, "now");
    var legend = el("p", {class: "legend"});
    history.zones.forEach(function (zone, i) {
      var path = "";
      points.forEach(function (p) {
        if (p[i + 1] == null) return;
        path += (path ? " L" : "M") + x(p[0]).toFixed(1) + " " + y(p[i + 1]).toFixed(1);
      });
      var color = colors[i % colors.length];
      add("path", {d: path, fill: "none", stroke: color, "stroke-width": 2, "vector-effect": "non-scaling-stroke"});
      legend.appendChild(el("span", {}, el("i", {style: "background:" + color}), zone));
    });
    box.appendChild(svg);
    box.appendChild(legend);
    return out;
  }

  function name(e) { return e.name || e.id.slice(0, 12); }
  function kind(e) { return e.kind; }
  function pod(e) { return e.pod ? (e.namespace ? e.namespace + "/" + e.pod : e.pod) : ""; }
  var levels = [
    {key: "processes", title: "Top processes", outside: "unattributed",
     columns: [["PID", function (e) { return e.id; }], ["Name", name], ["Type", kind, 1], ["Pod", pod, 1]]},
    {key: "containers", title: "Top containers", outside: "outside containers",
     columns: [["Name", name], ["Pod", pod], ["Runtime", kind, 1]]},
    {key: "pods", title: "Top pods", outside: "outside pods",
     columns: [["Name", name], ["Namespace", function (e) { return e.namespace; }]]},
    {key: "vms", title: "Top VMs", outside: "outside VMs",
     columns: [["Name", name], ["Hypervisor", kind, 1]]}
  ];

  function numbers(row, w, share, energy) {
    row.appendChild(el("td", {class: "num watts"}, watts(w)));
    row.appendChild(el("td", {class: "num share", style: "--share:" + (share * 100).toFixed(1) + "%"}, percent(share)));
    row.appendChild(el("td", {class: "num"}, energy));
    return row;
  }

  function list(level, data) {
    // A row labelled across the columns a narrow screen keeps; the optional ones (last) stay apart.
    function labelRow(cls, label) {
      var optional = level.columns.filter(function (c) { return c[2]; }).length;
      var row = el("tr", {class: cls}, el("td", {colspan: level.columns.length - optional}, label));
      for (var i = 0; i < optional; i++) row.appendChild(el("td", {class: "opt"}));
      return row;
    }
    var rows = data.top.map(function (e) {
      var row = el("tr");
      level.columns.forEach(function (c) {
        row.appendChild(el("td", c[0] === "Name" ? {class: "name"} : c[2] ? {class: "opt"} : {}, c[1](e)));
      });
      return numbers(row, e.watts, e.share, joules(e.joules));
    });
    if (data.count === 0) rows.push(labelRow("muted", "none running"));
    if (data.others.count > 0)
      rows.push(numbers(labelRow("rest", data.others.count + " more"), data.others.watts, data.others.share, ""));
    if (data.outside.watts > 0)
      rows.push(numbers(labelRow("rest", level.outside), data.outside.watts, data.outside.share, ""));
    var headings = level.columns.map(function (c) { return c[2] ? {text: c[0], cls: "opt"} : {text: c[0]}; })
      .concat([{text: "Power", cls: "num"}, {text: "Share", cls: "num"}, {text: "Energy", cls: "num"}]);
    var out = section(level.key, el("h2", {}, level.title + " ", el("small", {class: "muted"}, data.count + " running")));
    out.appendChild(table(headings, rows));
    return out;
  }

  function provenance(s) {
    var dl = el("dl");
    function item(term, value) { dl.appendChild(el("dt", {}, term)); dl.appendChild(el("dd", {}, value)); }
    s.zones.forEach(function (z) { item("Power, " + z.name, meterText(z)); });
    var cpu = s.cpu_time.source === "ebpf" ? "eBPF on sched_switch" : "/proc scan";
    if (s.cpu_time.bpf_attach_mode) cpu += " (" + s.cpu_time.bpf_attach_mode + ")";
    item("CPU time", cpu);
    var p = s.pod_source;
    item("Pods", p ? el("span", {}, el("span", {class: p.up ? "up" : "down"}, p.up ? "up" : "down"),
                        " " + p.mode + ", " + p.pods + " pods, last sync " + when(p.last_sync))
                   : "Kubernetes off (kube.enabled: false)");
    var out = section("provenance", el("h2", {}, "How the numbers are obtained"));
    out.appendChild(dl);
    return out;
  }

  function exporter(e) {
    var dl = el("dl");
    function item(term, value) { dl.appendChild(el("dt", {}, term)); dl.appendChild(el("dd", {}, value)); }
    item("CPU", e.cpu_ratio == null ? "—" : percent(e.cpu_ratio) + " of one CPU");
    item("Memory", (e.resident_bytes / 1048576).toFixed(1) + " MiB resident");
    item("Collection", (e.collection_seconds * 1000).toFixed(1) + " ms per interval");
    item("Restarts", e.restarts + e.restarted.map(function (a) { return " " + a.actor + " ×" + a.restarts; }).join(","));
    item("Dropped connections", e.http_drops);
    item("Started", e.start_time ? new Date(e.start_time * 1000).toLocaleString() : "—");
    var rows = e.sources.map(function (src) {
      return el("tr", {}, el("td", {}, src.source), el("td", {}, src.zone),
                el("td", {class: src.up ? "up" : "down"}, src.up ? "up" : "down"),
                el("td", {class: "num"}, src.errors), el("td", {}, when(src.last_success)));
    });
    var out = section("exporter", el("h2", {}, "Exporter health and cost"));
    out.appendChild(dl);
    out.appendChild(table([{text: "Source"}, {text: "Zone"}, {text: "State"}, {text: "Errors", cls: "num"},
                           {text: "Last success"}], rows, "sources"));
    return out;
  }

  function render(s) {
    var main = el("main", {id: "main"}, zones(s), chart(s.history));
    levels.forEach(function (level) { main.appendChild(list(level, s[level.key])); });
    main.appendChild(provenance(s));
    main.appendChild(exporter(s.exporter));
    document.getElementById("main").replaceWith(main);
    document.getElementById("node").textContent = s.node;
    document.title = "Kepler " + s.node;
    document.getElementById("status").textContent = "Snapshot " + s.sequence + " at " +
      new Date(s.time * 1000).toLocaleTimeString() + ", every " + s.interval_seconds + " s; live.";
    interval = Math.max(1, s.interval_seconds) * 1000;
    body.dataset.sequence = s.sequence;
    body.dataset.state = "live";
  }

  function problem(text) {
    body.dataset.state = body.dataset.state === "waiting" ? "waiting" : "stale";
    document.getElementById("status").textContent = text;
  }

  // ------------------------------------------------------------------ refresh
  // Only while the page is visible: a tab in the background asks nothing of the exporter.
  var timer = null;
  function schedule(delay) {
    clearTimeout(timer);
    timer = document.hidden ? null : setTimeout(refresh, delay);
  }
  function refresh() {
    // From the origin, so that credentials typed into the address bar are not in the URL.
    fetch(location.origin + "/api/v1/summary", {cache: "no-store", credentials: "same-origin"})
      .then(function (response) {
        if (response.status === 503) throw new Error("waiting for the first snapshot");
        if (!response.ok) throw new Error("the summary answered " + response.status);
        return response.json();
      })
      .then(render)
      .catch(function (error) { problem("Not updating: " + error.message + "; retrying."); })
      .then(function () { schedule(interval); });
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden && !timer) refresh(); });
  refresh();
})();
