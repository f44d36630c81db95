// dualclass classroom display: the big screen of one classroom, served by its node.
//
// Everything comes from the node on this machine: the view over /display/ws (sent
// again after every applied event) and the slide images from the node's verified
// deck cache, so the screen keeps working while the link to the hub is down.
// Annotation points are fractions of the slide image (x right, y down, 0..1).
// State for tests and measurements is on `window.dc`.
"use strict";

(() => {
  // Words come from the message catalogues (dcI18n.t; keys "display.*"), which the
  // node serves itself under /i18n/: the screen needs nothing from the hub.
  const i18n = window.dcI18n;
  const t = (key, params) => i18n.t(key, params);
  const params = new URLSearchParams(location.search);
  const $ = (id) => document.getElementById(id);
  const dc = (window.dc = { views: [], shown: [], view: null });
  const preloaded = new Map();

  // a catalogue text that stays right when the language changes
  const say = (el, key) => { el.dataset.i18n = key; el.textContent = t(key); };
  // data (not a catalogue text): never re-translated
  const show = (el, text) => { delete el.dataset.i18n; el.textContent = text; };

  function preload(urls) {
    for (const url of urls) {
      if (preloaded.has(url)) continue;
      const img = new Image();
      img.decoding = "async";
      img.src = url;
      preloaded.set(url, img);
    }
  }

  // ---------------------------------------------------------------- slide

  function showSlide(view) {
    const img = $("slide"), missing = $("slide-missing"), screen = $("screen");
    // a shared screen takes the slide's place while it lasts
    screen.hidden = !view.screen;
    if (view.screen) {
      img.hidden = true; missing.hidden = true; $("ink").hidden = true;
      return;
    }
    $("ink").hidden = false;
    const slide = view.slide;
    if (!slide || !slide.url) {
      img.hidden = true;
      missing.hidden = false;
      say(missing, slide ? "display.not_cached" : "display.no_slide");
      img.removeAttribute("src");
      img.dataset.deck = ""; img.dataset.index = "";
      drawInk(view);
      return;
    }
    missing.hidden = true;
    img.hidden = false;
    if (img.dataset.url === slide.url) { drawInk(view); return; }
    const record = { seq: view.seq, deck_id: slide.deck_id, index: slide.index,
      applied_at: view.applied_at, received_at: Date.now() };
    img.onload = () => {
      record.shown_at = performance.timeOrigin + performance.now();
      img.dataset.deck = slide.deck_id;
      img.dataset.index = String(slide.index);
      dc.shown.push(record);
      drawInk(dc.view);
    };
    img.dataset.url = slide.url;
    img.src = slide.url;
  }

  function drawInk(view) {
    const img = $("slide"), canvas = $("ink");
    const w = img.clientWidth, h = img.clientHeight;
    canvas.width = w; canvas.height = h;
    canvas.style.left = `${img.offsetLeft}px`;
    canvas.style.top = `${img.offsetTop}px`;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    if (!view || img.hidden) return;
    for (const stroke of view.strokes || []) {
      ctx.strokeStyle = stroke.color;
      ctx.lineWidth = stroke.width * (w / 960);
      ctx.lineCap = "round"; ctx.lineJoin = "round";
      ctx.beginPath();
      stroke.points.forEach(([x, y], i) => (i ? ctx.lineTo(x * w, y * h) : ctx.moveTo(x * w, y * h)));
      if (stroke.points.length === 1) ctx.lineTo(stroke.points[0][0] * w + 0.5, stroke.points[0][1] * h);
      ctx.stroke();
    }
    dc.inked = (view.strokes || []).length;
  }
  window.addEventListener("resize", () => drawInk(dc.view));

  // ----------------------------------------------------------------- side

  function render(view) {
    dc.view = view;
    dc.views.push({ seq: view.seq, at: Date.now() });
    if (dc.views.length > 500) dc.views.shift();
    if (view.title) show($("title"), view.title); else say($("title"), "display.title");
    const status = $("status");
    say(status, `display.status.${view.status}`);
    status.className = `badge ${view.status}`;
    setLink(view.connected);
    // after the lesson the screen keeps its last slide and results, and says so
    $("ended").hidden = view.status !== "ended";
    // the lead's tile too, as on the consoles (the picture behind may still move)
    $("lead-ended").hidden = view.status !== "ended";
    dc.ended = view.status === "ended";
    for (const deck of view.decks || []) if (deck.ready) preload(deck.urls);
    showSlide(view);
    if (view.floor) show($("floor"), view.floor); else say($("floor"), "display.nobody");
    const hands = $("hands");
    hands.replaceChildren(...(view.hands || []).map((node) => {
      const li = document.createElement("li"); li.textContent = node; return li;
    }));
    renderQuiz(view.quiz);
    startVideo(view);
  }

  function renderQuiz(quiz) {
    const box = $("quiz-box");
    box.hidden = !quiz;
    if (!quiz) return;
    $("question").textContent = quiz.question || quiz.quiz;
    const counts = quiz.counts || [];
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    $("choices").replaceChildren(...(quiz.choices || []).map((choice, i) => {
      const li = document.createElement("li");
      const n = counts[i] || 0;
      li.textContent = t("display.answers", { choice, count: i18n.num(n, 0) });
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.round((n / total) * 10)}vw`;
      li.append(bar);
      if (quiz.closed && quiz.correct === i) li.className = "correct";
      li.dataset.count = String(n);
      return li;
    }));
  }

  function setLink(connected) {
    const link = $("link");
    say(link, connected ? "display.online" : "display.offline");
    link.className = `badge ${connected ? "online" : "offline"}`;
    dc.connected = connected;
  }

  // --------------------------------------------------------------- video
  // The node sends the lead's video and screen it receives from the hub over a
  // loopback WebRTC connection of its own (POST /display/rtc).

  function gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    }));
  }

  async function startVideo(view) {
    if (dc.pc || dc.pcStarting) return;
    if (!view.media || !view.media.main) { say($("lead-caption"), "display.no_video"); return; }
    dc.pcStarting = true;
    try {
      const pc = new RTCPeerConnection({ iceServers: [] });
      const lines = [pc.addTransceiver("video", { direction: "recvonly" }),
                     pc.addTransceiver("video", { direction: "recvonly" })];
      $("lead").srcObject = new MediaStream([lines[0].receiver.track]);
      $("screen").srcObject = new MediaStream([lines[1].receiver.track]);
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const session = params.get("session");
      const r = await fetch("/display/rtc" + (session ? `?session=${encodeURIComponent(session)}` : ""), {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sdp: pc.localDescription.sdp }),
      });
      if (!r.ok) { pc.close(); say($("lead-caption"), "display.no_video"); return; }
      await pc.setRemoteDescription({ type: "answer", sdp: (await r.json()).sdp });
      dc.pc = pc;
      say($("lead-caption"), "display.lead");
      pc.onconnectionstatechange = () => {
        if (["failed", "closed", "disconnected"].includes(pc.connectionState)) {
          pc.close();
          if (dc.pc === pc) dc.pc = null; // the next view tries again
        }
      };
    } catch (err) {
      console.log(`display video: ${err}`);
    } finally {
      dc.pcStarting = false;
    }
  }

  // ------------------------------------------------------------ websocket

  function connect() {
    const session = params.get("session");
    const url = `ws://${location.host}/display/ws` + (session ? `?session=${encodeURIComponent(session)}` : "");
    const ws = (dc.ws = new WebSocket(url));
    ws.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      if (data.type === "view") render(data);
      else if (data.type === "waiting") say($("slide-missing"), "display.waiting");
    };
    ws.onclose = () => setTimeout(connect, 1000); // the node restarted: come back
  }
  say($("slide-missing"), "display.waiting");
  // the quiz lines hold numbers in the page's language: redraw them after a switch
  document.addEventListener("dc:lang", () => dc.view && renderQuiz(dc.view.quiz));
  i18n.ready.finally(connect);
})();
