// The operator dashboard: a full snapshot once, then JSON merge patches (RFC 7386)
// over server-sent events; only the lessons, boxes and panels a patch touches are
// redrawn. Words come from the catalogues (dcI18n.t); numbers and times are
// formatted for the page's language. State for tests: window.ops.
"use strict";

(() => {
  const i18n = window.dcI18n;
  const t = (key, params) => i18n.t(key, params);
  const $ = (id) => document.getElementById(id);
  const ops = (window.ops = {
    doc: null, offset: 0, updates: 0, timings: [], bytes: 0, connected: false, es: null, detail: null,
  });

  // ------------------------------------------------------------- helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v === true ? "" : v);
      else node[k] = v;
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function merge(target, patch) {
    if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
    const out = target && typeof target === "object" && !Array.isArray(target) ? target : {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else out[key] = merge(out[key], value);
    }
    return out;
  }

  const serverNow = () => Date.now() + ops.offset;
  const age = (at) => (at ? i18n.ago((serverNow() - at) / 1000) : "—");
  const num = (v, d) => i18n.num(v, d);
  const onlineBadge = (online) => el("span", { class: `badge ${online ? "ok" : "bad"}`, text: t(online ? "ops.online" : "ops.offline") });

  // ------------------------------------------------------------- lessons

  const ROOM_COLUMNS = [
    ["node", "ops.col.node"], ["role", "ops.col.role"], ["online", "ops.col.state"],
    ["joined", "ops.col.joined"], ["heartbeat", "ops.col.heartbeat"], ["latency", "ops.col.latency"],
    ["behind", "ops.col.behind"], ["fps", "ops.col.fps"], ["bitrate", "ops.col.bitrate"],
    ["loss", "ops.col.loss"], ["rtt", "ops.col.rtt"], ["freezes", "ops.col.freezes"],
    ["layer", "ops.col.layer"], ["backlog", "ops.col.backlog"], ["rejections", "ops.col.rejections"],
  ];

  // A cell shows text, or an element rebuilt only when its signature changes: an
  // update touches only the cells whose value changed (cheap on the main thread).
  const ROOM_CELLS = {
    node: (r) => r.node,
    role: (r) => t(`ops.role.${r.role}`),
    online: (r) => ({ sig: `${i18n.lang}${r.online}`, make: () => onlineBadge(r.online) }),
    joined: (r) => t(r.joined ? "ops.yes" : "ops.no"),
    heartbeat: (r) => ({ sig: String(r.heartbeat_at), make: () => el("span", { "data-at": r.heartbeat_at, text: age(r.heartbeat_at) }) }),
    latency: (r) => (r.latency_ms === undefined ? "—" : `${num(r.latency_ms, 0)} ms`),
    behind: (r) => num(r.behind, 0),
    fps: (r) => num(r.fps, 0),
    bitrate: (r) => (r.bitrate_kbps === undefined ? "—" : `${num(r.bitrate_kbps, 0)} kbps`),
    loss: (r) => i18n.pct(r.loss, 1),
    rtt: (r) => (r.rtt_ms === undefined ? "—" : `${num(r.rtt_ms, 0)} ms`),
    freezes: (r) => num(r.freezes, 0),
    layer: (r) => (r.layer ? t(`ops.layer.${r.layer}`) : "—"),
    backlog: (r) => (r.backlog_oldest_s === undefined ? num(r.backlog, 0)
      : t("ops.backlog_oldest", { count: num(r.backlog, 0), seconds: num(r.backlog_oldest_s, 0) })),
    rejections: (r) => num(r.rejections, 0),
  };
  const TEXT_LEFT = new Set(["node", "role", "joined"]);

  function setCell(td, value) {
    if (typeof value === "string") {
      if (td.dataset.sig !== undefined) { delete td.dataset.sig; td.textContent = value; return; }
      if (td.textContent !== value) td.textContent = value;
    } else if (td.dataset.sig !== value.sig) {
      td.dataset.sig = value.sig;
      td.replaceChildren(value.make());
    }
  }

  function fillRoom(tr, r) {
    tr.dataset.online = String(r.online);
    for (const td of tr.children) setCell(td, ROOM_CELLS[td.dataset.field](r));
  }

  function roomRow(session, r) {
    const tr = el("tr", { "data-room": `${session}/${r.node}` });
    for (const [field] of ROOM_COLUMNS) {
      tr.append(el("td", { "data-field": field, class: TEXT_LEFT.has(field) ? undefined : "num" }));
    }
    fillRoom(tr, r);
    return tr;
  }

  function lessonTitle(session, lesson) {
    const when = lesson.bucket === "ended" ? lesson.ends_at : lesson.starts_at;
    const title = el("h3", { "data-open": session },
      el("span", { class: `badge ${lesson.state === "live" ? "ok" : ""}`, text: t(`ops.bucket.${lesson.bucket}`) }),
      " ", lesson.title || session,
      el("span", { class: "meta", text: t("ops.lesson.meta", {
        session, subject: lesson.subject || "—", grade: lesson.grade || "—",
        time: when ? i18n.dateTime(when) : "—", events: num(lesson.events || 0, 0),
      }) }));
    title.addEventListener("click", () => openDetail(session));
    return title;
  }

  function lessonBox(session, lesson) {
    const head = el("tr", {}, ...ROOM_COLUMNS.map(([, key]) => el("th", { text: t(key) })));
    const body = el("tbody", {}, ...(lesson.room_order || []).map((n) => roomRow(session, lesson.classrooms[n])));
    return el("div", { class: "lesson", "data-lesson": session, "data-state": lesson.state },
      lessonTitle(session, lesson), el("table", {}, el("thead", {}, head), body));
  }

  // a lesson's patch: redraw its title if lesson fields changed, its changed rows in place;
  // a new classroom list (room_order) rebuilds the box
  function updateLesson(box, session, lesson, patch) {
    if (!patch || patch.room_order || box.dataset.lang !== i18n.lang) return false;
    const fields = Object.keys(patch).filter((k) => k !== "classrooms");
    if (fields.length) {
      box.dataset.state = lesson.state;
      box.firstChild.replaceWith(lessonTitle(session, lesson));
    }
    for (const node of Object.keys(patch.classrooms || {})) {
      const tr = box.querySelector(`tr[data-room="${CSS.escape(`${session}/${node}`)}"]`);
      const room = lesson.classrooms[node];
      if (!tr || !room) return false;
      fillRoom(tr, room);
    }
    return true;
  }

  function drawLessons(changed, reorder, patch) {
    const box = $("lessons");
    const doc = ops.doc;
    const existing = new Map([...box.children].map((c) => [c.dataset.lesson, c]));
    for (const session of changed) {
      const lesson = doc.lessons[session];
      const old = existing.get(session);
      if (!lesson) { if (old) old.remove(); existing.delete(session); continue; }
      if (old && updateLesson(old, session, lesson, patch && patch[session])) continue;
      const fresh = lessonBox(session, lesson);
      fresh.dataset.lang = i18n.lang;
      if (old) old.replaceWith(fresh); else box.append(fresh);
      existing.set(session, fresh);
    }
    if (reorder) {
      for (const [session, node] of existing) if (!doc.lessons[session]) node.remove();
      for (const session of doc.lesson_order || []) { const n = existing.get(session); if (n) box.append(n); }
    }
    $("lessons-none").hidden = (doc.lesson_order || []).length > 0;
  }

  // ------------------------------------------------------------- boxes

  const NODE_CELLS = [
    ["node", (n) => n.node],
    ["state", (n) => ({
      sig: `${i18n.lang}${n.online}${n.missing_in_lesson}`,
      make: () => {
        const state = el("span", {}, onlineBadge(n.online));
        if (n.missing_in_lesson) state.append(" ", el("span", { class: "badge warn", text: t("ops.nodes.missing") }));
        return state;
      },
    })],
    ["last_seen", (n) => ({ sig: String(n.last_seen), make: () => el("span", { "data-at": n.last_seen, text: age(n.last_seen) }) })],
    ["version", (n) => n.version || "—"],
    ["fps", (n) => num(n.fps, 0)],
    ["bitrate", (n) => (n.bitrate_kbps === undefined ? "—" : `${num(n.bitrate_kbps, 0)} kbps`)],
    ["loss", (n) => i18n.pct(n.loss, 1)],
    ["rtt", (n) => (n.rtt_ms === undefined ? "—" : `${num(n.rtt_ms, 0)} ms`)],
  ];

  function fillNode(tr, n) {
    tr.dataset.online = String(n.online);
    NODE_CELLS.forEach(([, cell], i) => setCell(tr.children[i], cell(n)));
  }

  function nodeRow(n) {
    const tr = el("tr", { "data-node": n.node },
      ...NODE_CELLS.map(([field], i) => el("td", { "data-field": field, class: i >= 4 ? "num" : undefined })));
    fillNode(tr, n);
    return tr;
  }

  function drawNodes(changed, reorder) {
    const body = $("nodes");
    const existing = new Map([...body.children].map((c) => [c.dataset.node, c]));
    for (const node of changed) {
      const row = ops.doc.nodes[node];
      const old = existing.get(node);
      if (!row) { if (old) old.remove(); existing.delete(node); continue; }
      if (old && old.dataset.lang === i18n.lang) { fillNode(old, row); continue; }
      const fresh = nodeRow(row);
      fresh.dataset.lang = i18n.lang;
      if (old) old.replaceWith(fresh); else body.append(fresh);
      existing.set(node, fresh);
    }
    if (reorder) {
      for (const [node, tr] of existing) if (!ops.doc.nodes[node]) tr.remove();
      for (const node of ops.doc.node_order || []) { const tr = existing.get(node); if (tr) body.append(tr); }
    }
  }

  // ------------------------------------------------------------- panels

  function drawHub() {
    const h = ops.doc.hub || {};
    const rejected = Object.entries(h.rejected || {}).map(([k, v]) => `${k}: ${num(v, 0)}`).join(", ");
    const ms = (v) => (v === undefined ? "—" : `${num(v, 1)} ms`);
    const rows = [
      ["ops.hub.events_per_s", num(h.events_per_s, 1)],
      ["ops.hub.sequencing_p99", ms(h.sequencing_p99_ms)],
      ["ops.hub.delivery_p99", ms(h.delivery_p99_ms)],
      ["ops.hub.rejected", rejected || "0"],
      ["ops.hub.broker", el("span", { class: `badge ${h.broker ? "ok" : "bad"}`, text: t(h.broker ? "ops.connected" : "ops.disconnected") })],
      ["ops.hub.redis", el("span", { class: `badge ${h.redis ? "ok" : "bad"}`, text: t(h.redis ? "ops.connected" : "ops.disconnected") })],
      ["ops.hub.cpu", i18n.pct((h.cpu_percent || 0) / 100, 0)],
      ["ops.hub.memory", `${num(h.memory_mb, 0)} MB`],
      ["ops.hub.sessions", num(h.sessions, 0)],
    ];
    $("hub").replaceChildren(...rows.flatMap(([key, value]) => [el("dt", { text: t(key) }), el("dd", { "data-hub": key }, value)]));
  }

  function drawCoverage() {
    const c = ops.doc.coverage;
    if (!c) return;
    const gaps = (c.gaps || []).map((g) => t("ops.coverage.gap", { region: g.region, grade: g.grade, subject: g.subject }));
    $("coverage").replaceChildren(
      el("p", { text: t("ops.coverage.week", { from: i18n.date(c.from), to: i18n.date(c.to) }) }),
      el("dl", { class: "facts" },
        el("dt", { text: t("ops.coverage.held") }),
        el("dd", { text: t("ops.coverage.held_of", { held: num(c.lessons_held, 0), scheduled: num(c.lessons_scheduled, 0) }) }),
        el("dt", { text: t("ops.coverage.schools") }),
        el("dd", { text: t("ops.coverage.schools_of", { reached: num(c.schools_reached, 0), total: num(c.partner_schools, 0) }) }),
        el("dt", { text: t("ops.coverage.gaps") }),
        el("dd", { text: gaps.length ? gaps.join("; ") + (c.gap_count > gaps.length ? " …" : "") : t("ops.coverage.no_gaps") })),
      el("a", { href: `${c.report}&lang=${i18n.lang}`, id: "coverage-report", text: t("ops.coverage.report") }));
  }

  function drawAlerts() {
    const alerts = Object.entries(ops.doc.alerts || {}).sort((a, b) => a[1].since - b[1].since);
    $("alerts").replaceChildren(...alerts.map(([key, a]) => el("li", { "data-alert": key, "data-kind": a.kind },
      el("b", { text: t(`ops.alert.${a.kind}`) }), " ",
      t("ops.alert.line", { subject: a.subject, detail: a.detail ? ` (${a.detail})` : "", since: i18n.time(a.since) }), " ",
      el("span", { class: "muted", "data-at": a.since, text: age(a.since) }))));
    $("alerts-none").hidden = alerts.length > 0;
  }

  function drawAll() {
    drawLessons(Object.keys(ops.doc.lessons || {}), true);
    drawNodes(Object.keys(ops.doc.nodes || {}), true);
    drawHub();
    drawCoverage();
    drawAlerts();
  }

  function onPatch(patch) {
    ops.doc = merge(ops.doc, patch);
    if (patch.lessons || patch.lesson_order) drawLessons(Object.keys(patch.lessons || {}), "lesson_order" in patch, patch.lessons);
    if (patch.nodes || patch.node_order) drawNodes(Object.keys(patch.nodes || {}), "node_order" in patch);
    if (patch.hub) drawHub();
    if ("coverage" in patch) drawCoverage();
    if (patch.alerts) drawAlerts();
    if (ops.detail && patch.lessons && ops.detail in patch.lessons) refreshDetail();
  }

  // ages tick locally: the feed sends absolute times, not a change every second
  setInterval(() => {
    for (const node of document.querySelectorAll("[data-at]")) {
      const text = age(Number(node.dataset.at));
      if (node.textContent !== text) node.textContent = text;
    }
  }, 1000);

  // ------------------------------------------------------------- drill-down

  let detailBusy = false;
  async function refreshDetail() {
    if (!ops.detail || detailBusy) return;
    detailBusy = true;
    try {
      const r = await fetch(`/api/ops/lessons/${encodeURIComponent(ops.detail)}?limit=100`, { credentials: "same-origin" });
      if (!r.ok) return;
      const d = await r.json();
      const s = d.state || {};
      const rows = [
        ["ops.detail.status", t(`ops.state.${s.status}`)],
        ["ops.detail.slide", s.slide ? `${s.slide.deck || ""} #${s.slide.index}` : "—"],
        ["ops.detail.floor", s.floor || "—"],
        ["ops.detail.hands", (s.hands || []).join(", ") || "—"],
        ["ops.detail.quiz", s.quiz ? `${s.quiz.quiz} (${num((s.quiz.answered || []).length, 0)})` : "—"],
        ["ops.detail.events", num(s.last_seq || 0, 0)],
        ["ops.detail.rejected", num((d.counters || {}).rejected || 0, 0)],
      ];
      $("detail-state").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: t(k) }), el("dd", { text: v })]));
      $("detail-log").replaceChildren(...(d.events || []).slice().reverse().map((e) =>
        el("li", { text: `#${e.seq} ${i18n.time(e.ts)} ${e.type} · ${e.src || ""} ${e.body && Object.keys(e.body).length ? JSON.stringify(e.body) : ""}` })));
    } finally {
      detailBusy = false;
    }
  }

  function openDetail(session) {
    ops.detail = session;
    $("detail").hidden = false;
    $("detail-session").textContent = session;
    refreshDetail();
  }
  $("detail-close").addEventListener("click", () => { ops.detail = null; $("detail").hidden = true; });

  // ------------------------------------------------------------- connection

  function setConn(key, cls) {
    $("conn").textContent = t(key);
    $("conn").className = `badge ${cls}`;
    $("conn").dataset.i18n = key;
  }

  function showSignin(show) {
    $("signin").hidden = !show;
    $("board").hidden = show;
    $("signout").hidden = show;
  }

  function listen() {
    if (ops.es) ops.es.close();
    const es = (ops.es = new EventSource("/api/ops/stream"));
    es.addEventListener("snapshot", (msg) => {
      const t0 = performance.now();
      const data = JSON.parse(msg.data);
      ops.bytes += msg.data.length;
      ops.offset = data.now - Date.now();
      ops.doc = data.doc;
      drawAll();
      ops.connected = true;
      setConn("ops.live", "ok");
      ops.timings.push(performance.now() - t0);
    });
    es.addEventListener("patch", (msg) => {
      const t0 = performance.now();
      const data = JSON.parse(msg.data);
      ops.bytes += msg.data.length;
      ops.offset = data.now - Date.now();
      onPatch(data.patch);
      ops.updates += 1;
      ops.timings.push(performance.now() - t0);
    });
    es.onerror = async () => {
      ops.connected = false;
      setConn("ops.reconnecting", "warn");
      if (es.readyState === EventSource.CLOSED) {
        const r = await fetch("/api/ops/overview", { credentials: "same-origin" }).catch(() => null);
        if (r && r.status === 401) { showSignin(true); return; }
        setTimeout(listen, 2000);
      }
    };
  }

  async function start() {
    const r = await fetch("/api/ops/overview", { credentials: "same-origin" }).catch(() => null);
    if (!r || r.status === 401) { showSignin(true); setConn("ops.signed_out", ""); return; }
    showSignin(false);
    listen();
    // a sign-in link may name a lesson (/ops#lesson=ID): open its drill-down
    const lesson = new URLSearchParams(location.hash.slice(1)).get("lesson");
    if (lesson && !ops.detail) openDetail(lesson);
  }

  $("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const key = $("signin-key").value;
    const r = await fetch("/ops/signin", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ key }),
    });
    $("signin-key").value = "";
    if (r.ok) { $("signin-error").hidden = true; start(); return; }
    $("signin-error").textContent = t(r.status === 401 ? "ops.signin.wrong" : "ops.signin.failed");
    $("signin-error").hidden = false;
  });

  $("signout").addEventListener("click", async () => {
    if (ops.es) ops.es.close();
    await fetch("/ops/signout", { method: "POST", credentials: "same-origin" });
    ops.doc = null;
    showSignin(true);
    setConn("ops.signed_out", "");
  });

  document.addEventListener("dc:lang", () => { if (ops.doc) drawAll(); if (ops.detail) refreshDetail(); });

  i18n.ready.then(start, start);
})();
