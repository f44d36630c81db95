// dualclass replay page: a recorded lesson with its events in step.
//
// The recording's manifest lists the lead's file and one file per floor turn,
// each with its offset on the lesson timeline; the timeline lists every
// sequenced event with `t`, its time on that timeline (seconds; negative
// before the first picture). The lesson state shown beside the picture is the
// fold of every event with t <= the video's current time, so jumping anywhere
// shows exactly the slide, quiz, raised hands and floor of that moment.
// Watching time is reported to the hub (ledger: replay viewing, apart from
// live participation). State for tests and debugging is on `window.dc`.
"use strict";

(() => {
  // words come from the message catalogues (/i18n/, i18n.js): keys "replay.*"
  const t = (key, params) => window.dcI18n.t(key, params);
  const SPEEDS = [0.5, 1, 1.25, 1.5, 2];
  const params = new URLSearchParams(location.search);
  const session = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const $ = (id) => document.getElementById(id);
  let token = params.get("token");
  const viewId = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)).replace(/[^A-Za-z0-9_-]/g, "");

  const dc = (window.dc = {
    session, manifest: null, timeline: null, events: [], state: null, ready: false,
    watchedMs: 0, viewReports: 0, errors: [], stateAt: null, seek: null,
  });

  function redraw() {
    if (dc.ready) { renderTimeline(); render(true); showStatus(); }
  }

  function authed(path) {
    const sep = path.includes("?") ? "&" : "?";
    return `${path}${sep}token=${encodeURIComponent(token)}`;
  }

  function clock(at) {
    const s = Math.max(0, Math.floor(at));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  // ------------------------------------------------------------ lesson state

  function emptyState() {
    return { live: false, ended: false, slide: null, floor: null, quiz: null, hands: [],
             attendance: {}, chat: [], last: null };
  }

  function apply(st, e) {
    const b = e.body || {};
    switch (e.type) {
      case "lesson.start": st.live = true; break;
      case "lesson.end": st.live = false; st.ended = true; st.floor = null; st.quiz = null; break;
      case "slide.show": st.slide = { deck: b.deck, index: b.index }; break;
      case "hand.raise": if (!st.hands.includes(e.src)) st.hands.push(e.src); break;
      case "hand.lower": st.hands = st.hands.filter((n) => n !== (b.node || e.src)); break;
      case "floor.grant":
        st.floor = b.node; st.hands = st.hands.filter((n) => n !== b.node); break;
      case "floor.revoke": st.floor = null; break;
      case "quiz.open":
        st.quiz = { quiz: b.quiz, question: b.question || "", choices: b.choices || [],
                    answers: {}, closed: false, correct: null };
        break;
      case "quiz.answer":
        if (st.quiz && st.quiz.quiz === b.quiz) st.quiz.answers[`${e.src}/${b.student || ""}`] = b.choice;
        break;
      case "quiz.close":
        if (st.quiz && st.quiz.quiz === b.quiz) { st.quiz.closed = true; st.quiz.correct = b.correct; }
        break;
      case "attendance.report": st.attendance[e.src] = [b.present, b.enrolled]; break;
      case "chat.message": st.chat.push(`${e.src}: ${b.text}`); st.chat = st.chat.slice(-8); break;
      default: break;
    }
    st.last = e;
  }

  function stateAt(at) {
    const st = emptyState();
    for (const e of dc.events) {
      if (e.t > at + 0.0015) break; // times are whole ms; a seek may land just short
      apply(st, e);
    }
    // before the lead's first slide.show the class already sees that slide (the
    // deck is open before the first click): show it from 0:00, not an empty slot
    if (!st.slide) {
      const first = dc.events.find((e) => e.type === "slide.show");
      if (first) st.slide = { deck: (first.body || {}).deck, index: (first.body || {}).index };
    }
    return st;
  }
  dc.stateAt = stateAt;

  function describe(e) {
    const b = e.body || {};
    const vars = { ...b, src: e.src || "", node: b.node || e.src || "" };
    if (e.type === "quiz.open" && Array.isArray(b.choices)) vars.question = `${b.question || ""} ${b.choices.join(" / ")}`;
    return t(`replay.event.${e.type}`, vars);
  }

  // ------------------------------------------------------------------ render

  let lastKey = "";
  function render(force) {
    const video = $("video");
    const now = video.currentTime;
    const st = stateAt(now);
    dc.state = st;
    $("clock").textContent = clock(now);
    const key = st.last ? st.last.seq : 0;
    if (!force && key === lastKey) { syncFloor(now); return; }
    lastKey = key;
    $("slide").textContent = st.slide ? `${st.slide.deck || ""} #${st.slide.index}` : "—";
    showSlideImage(st.slide);
    $("floor").textContent = st.floor || t("replay.nobody");
    if (!st.quiz) $("quiz").textContent = t("replay.no_quiz");
    else if (st.quiz.closed) $("quiz").textContent = t("replay.quiz_closed", st.quiz);
    else {
      const n = Object.keys(st.quiz.answers).length;
      const choices = st.quiz.choices.join(" / ");
      $("quiz").textContent = t("replay.quiz_open", { ...st.quiz, choices, n });
    }
    fill($("hands"), st.hands);
    fill($("attendance"), Object.entries(st.attendance).map(
      ([room, [present, enrolled]]) => `${room}: ${t("replay.present", { present, enrolled })}`));
    fill($("chat"), st.chat);
    const items = $("timeline").children;
    for (const li of items) {
      const et = Number(li.dataset.t);
      li.classList.toggle("past", et <= now);
      li.classList.toggle("current", st.last !== null && Number(li.dataset.seq) === st.last.seq);
    }
    syncFloor(now);
  }

  // the deck's page image, when the session has that deck (issue 14's decks): fetched
  // with the token (an <img> cannot send it) and kept per page
  const pageImages = new Map();
  let wantedPage = "";
  async function showSlideImage(slide) {
    const img = $("slide-image");
    const key = slide && slide.deck ? `${slide.deck}/${slide.index}` : "";
    wantedPage = key;
    if (!key) { img.hidden = true; return; }
    let url = pageImages.get(key);
    if (url === undefined) {
      pageImages.set(key, null);
      const path = `/api/sessions/${encodeURIComponent(session)}/decks/` +
        `${encodeURIComponent(slide.deck)}/pages/${slide.index}`;
      try {
        const r = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
        url = r.ok ? URL.createObjectURL(await r.blob()) : null;
      } catch (e) { url = null; }
      pageImages.set(key, url);
    }
    if (wantedPage !== key) return;
    if (url) { img.src = url; img.alt = t("replay.slide"); }
    img.hidden = !url;
  }

  function fill(list, texts) {
    list.replaceChildren(...texts.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
  }

  function renderTimeline() {
    const list = $("timeline");
    list.replaceChildren(...dc.events.map((e) => {
      const li = document.createElement("li");
      li.dataset.t = String(e.t);
      li.dataset.seq = String(e.seq);
      const when = document.createElement("span");
      when.className = "t";
      when.textContent = clock(e.t);
      li.append(when, document.createTextNode(describe(e)));
      li.addEventListener("click", () => seek(e.t));
      return li;
    }));
  }

  function seek(at) {
    const video = $("video");
    video.currentTime = Math.max(0, at);
    render(true);
  }
  dc.seek = seek;

  // ---------------------------------------------------------- floor picture

  function syncFloor(at) {
    const figure = $("floor-figure");
    const fv = $("floor-video");
    const video = $("video");
    const turn = (dc.manifest.files || []).find(
      (f) => f.role === "floor" && at >= f.offset_s && at < f.offset_s + f.duration_s);
    if (!turn) {
      if (!figure.hidden) { fv.pause(); figure.hidden = true; }
      return;
    }
    const src = authed(`/api/recordings/${encodeURIComponent(session)}/files/${encodeURIComponent(turn.name)}`);
    if (fv.dataset.name !== turn.name) { fv.dataset.name = turn.name; fv.src = src; }
    figure.hidden = false;
    $("floor-video-name").textContent = turn.node;
    const want = at - turn.offset_s;
    if (Math.abs(fv.currentTime - want) > 0.3) fv.currentTime = want;
    fv.playbackRate = video.playbackRate;
    if (video.paused && !fv.paused) fv.pause();
    if (!video.paused && fv.paused) fv.play().catch(() => {});
  }

  // ----------------------------------------------------------- viewing time

  let lastTick = performance.now();
  let reported = 0;
  function tick() {
    const now = performance.now();
    const video = $("video");
    if (!video.paused && !video.ended) dc.watchedMs += now - lastTick;
    lastTick = now;
    if (!video.paused) render(false);
    requestAnimationFrame(tick);
  }

  function reportView() {
    if (!dc.ready || dc.watchedMs - reported < 1000) return;
    reported = dc.watchedMs;
    fetch(authed(`/api/recordings/${encodeURIComponent(session)}/views`), {
      method: "POST", keepalive: true, headers: { "content-type": "application/json" },
      body: JSON.stringify({ view: viewId, watched_s: Math.round(dc.watchedMs) / 1000 }),
    }).then((r) => { if (r.ok) dc.viewReports += 1; }).catch(() => {});
  }
  setInterval(reportView, 10000);
  addEventListener("pagehide", reportView);
  document.addEventListener("visibilitychange", () => { if (document.hidden) reportView(); });
  dc.reportView = reportView;

  // ------------------------------------------------------------------- load

  async function signIn(event) {
    event.preventDefault();
    const key = $("admin-key").value;
    const r = await fetch(`/api/sessions/${encodeURIComponent(session)}/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ role: "observer", ttl_s: 4 * 3600 }),
    });
    if (!r.ok) {
      const detail = (await r.json().catch(() => ({}))).detail || r.status;
      $("signin-error").textContent = t("replay.denied", { detail });
      return;
    }
    token = (await r.json()).token;
    $("signin").hidden = true;
    load();
  }

  function showStatus() {
    const m = dc.manifest;
    if (!m) return;
    $("status").textContent = t(`replay.status.${m.status}`, { reason: m.reason || "" });
    $("status").className = `badge ${m.status === "complete" ? "live" : m.status === "stopped" ? "ended" : ""}`;
    $("files").textContent = t("replay.files", { n: (m.files || []).length });
  }

  async function load() {
    $("who").textContent = `${session} · ${t("replay.loading")}`;
    const r = await fetch(authed(`/api/recordings/${encodeURIComponent(session)}`));
    if (!r.ok) {
      const detail = (await r.json().catch(() => ({}))).detail || r.status;
      const text = r.status === 404 ? t("replay.no_recording") : t("replay.denied", { detail });
      $("who").textContent = `${session} · ${text}`;
      dc.errors.push(text);
      if (r.status === 401 || r.status === 403) $("signin").hidden = false;
      return;
    }
    const data = await r.json();
    dc.manifest = data.manifest;
    dc.timeline = data.timeline || { events: [] };
    dc.events = [...dc.timeline.events].sort((a, b) => a.t - b.t || a.seq - b.seq);
    const m = dc.manifest;
    const leads = (m.files || []).filter((f) => f.role === "lead").sort((a, b) => a.offset_s - b.offset_s);
    $("who").textContent = session;
    showStatus();
    const video = $("video");
    if (leads.length) {
      video.src = authed(`/api/recordings/${encodeURIComponent(session)}/files/${encodeURIComponent(leads[0].name)}`);
    }
    $("player").hidden = false;
    renderTimeline();
    dc.ready = true;
    render(true);
    video.addEventListener("seeked", () => render(true));
    video.addEventListener("pause", () => { render(true); $("floor-video").pause(); });
    video.addEventListener("loadedmetadata", () => render(true));
    requestAnimationFrame(tick);
  }

  for (const speed of SPEEDS) {
    const option = document.createElement("option");
    option.value = String(speed);
    option.textContent = `${speed}×`;
    option.selected = speed === 1;
    $("speed").append(option);
  }
  document.addEventListener("dc:lang", redraw);
  $("speed").addEventListener("change", (e) => {
    $("video").playbackRate = Number(e.target.value);
    $("floor-video").playbackRate = Number(e.target.value);
  });
  $("signin").addEventListener("submit", signIn);
  window.dcI18n.ready.finally(() => {
    if (token) load();
    else { $("signin").hidden = false; $("who").textContent = session; }
  });
})();
