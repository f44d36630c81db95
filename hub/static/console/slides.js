// dualclass console slides: the session's deck images, and for the lead the
// thumbnails, previous/next, drawing annotations, uploading a deck and sharing a
// screen (getDisplayMedia into the "screen" m-line console.js kept for it; the
// hub forwards it to every partner as it is, and "screen.share" tells them).
//
// Images come from the hub's deck API with the page's join token (fetched as
// blobs: an <img> cannot send an Authorization header). Annotation points are
// fractions of the slide image (x right, y down, 0..1), the same on every screen.
// console.js tells us about the session with "dc:joined", "dc:state", "dc:event".
"use strict";

(() => {
  // Words come from the message catalogues (dcI18n.t; keys "slides.*").
  const i18n = window.dcI18n;
  const t = (key, params) => i18n.t(key, params);
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  const $ = (id) => document.getElementById(id);
  // a catalogue text that stays right when the language is switched
  const say = (el, key) => { el.dataset.i18n = key; el.textContent = t(key); };
  const dc = window.dc;
  const LEAD = dc.role === "lead";
  const slides = (dc.slides = { decks: [], images: new Map(), strokes: [], current: null, shown: [] });
  const auth = { Authorization: `Bearer ${token}` };

  // ---------------------------------------------------------------- decks

  async function loadDecks() {
    if (!dc.joined) return;
    const r = await fetch(`/api/sessions/${dc.joined.session}/decks`, { headers: auth });
    if (!r.ok) return;
    slides.decks = (await r.json()).decks;
    if (LEAD) renderThumbs();
    if (dc.state) show(dc.state);
  }

  function deckOf(name) {
    return slides.decks.find((d) => d.id === name || d.name === name) ||
      (slides.decks.length === 1 && (!name || name === "slides") ? slides.decks[0] : null);
  }

  async function image(deck, index) {
    const key = `${deck.id}/${index}`;
    if (!slides.images.has(key)) {
      slides.images.set(key, fetch(deck.page_urls[index], { headers: auth })
        .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(String(r.status)))))
        .then((blob) => URL.createObjectURL(blob))
        .catch((err) => { slides.images.delete(key); throw err; }));
    }
    return slides.images.get(key);
  }

  // ----------------------------------------------------------------- show

  async function show(state) {
    const s = state.slide;
    const label = $("slide");
    if (!s) { label.textContent = "—"; return; }
    const deck = deckOf(s.deck);
    label.textContent = deck
      ? t("slides.position", { name: deck.name || t("slides.unnamed"), page: s.index + 1, pages: deck.page_count })
      : `${s.deck} #${s.index}`;
    if (!deck) { if (slides.decks.length === 0 || !slides.loading) refreshSoon(); return; }
    const key = `${deck.id}/${s.index}`;
    if (slides.current !== key) { slides.current = key; slides.strokes = []; }
    if (s.index >= deck.page_count) return;
    const url = await image(deck, s.index);
    if (slides.current !== key) return; // a newer slide arrived meanwhile
    const img = $("slide-image");
    img.onload = () => {
      img.dataset.deck = deck.id; img.dataset.index = String(s.index);
      slides.shown.push({ deck: deck.id, index: s.index });
      ink();
    };
    img.src = url;
    if (LEAD) markThumb(deck, s.index);
  }

  function refreshSoon() {
    slides.loading = true;
    setTimeout(() => { slides.loading = false; loadDecks(); }, 500);
  }

  function ink() {
    const img = $("slide-image"), canvas = $("slide-ink");
    canvas.width = img.clientWidth; canvas.height = img.clientHeight;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const all = slides.drawing ? [...slides.strokes, slides.drawing] : slides.strokes;
    for (const st of all) {
      ctx.strokeStyle = st.color; ctx.lineWidth = st.width * (canvas.width / 960);
      ctx.lineCap = "round"; ctx.lineJoin = "round";
      ctx.beginPath();
      st.points.forEach(([x, y], i) => (i ? ctx.lineTo(x * canvas.width, y * canvas.height)
        : ctx.moveTo(x * canvas.width, y * canvas.height)));
      ctx.stroke();
    }
  }
  window.addEventListener("resize", ink);

  // ----------------------------------------------------------- lead tools

  function renderThumbs() {
    const list = $("thumbs");
    const deck = slides.decks[slides.decks.length - 1];
    list.replaceChildren();
    if (!deck) { $("deck-status").textContent = t("slides.no_deck"); return; }
    for (let i = 0; i < deck.page_count; i++) {
      const li = document.createElement("li");
      li.dataset.index = String(i);
      const img = document.createElement("img");
      img.alt = `${i + 1}`;
      image(deck, i).then((url) => (img.src = url)).catch(() => {});
      li.append(img);
      li.addEventListener("click", () => dc.interact("slide.show", { deck: deck.id, index: i }));
      list.append(li);
    }
  }

  function markThumb(deck, index) {
    for (const li of $("thumbs").children) li.classList.toggle("current", li.dataset.index === String(index));
  }

  function step(delta) {
    const s = dc.state && dc.state.slide;
    const deck = (s && deckOf(s.deck)) || slides.decks[slides.decks.length - 1];
    if (!deck) return;
    const current = s && deckOf(s.deck) === deck ? s.index : -1;
    const index = Math.min(Math.max(current + delta, 0), deck.page_count - 1);
    dc.interact("slide.show", { deck: deck.id, index });
  }

  async function upload() {
    const file = $("deck-file").files[0];
    const status = $("deck-status");
    if (!file) { status.textContent = t("slides.choose_file"); return; }
    status.textContent = t("slides.uploading");
    const r = await fetch(`/api/sessions/${dc.joined.session}/decks?name=${encodeURIComponent(file.name)}`, {
      method: "POST", headers: { ...auth, "Content-Type": file.type || "application/pdf" }, body: file,
    });
    const body = await r.json();
    status.textContent = r.ok
      ? t("slides.uploaded", { name: body.name, pages: body.page_count })
      : t("slides.refused", { code: body.code || r.status, detail: body.detail || "" });
    slides.lastUpload = { status: r.status, body };
    if (r.ok) await loadDecks();
  }

  function drawing() {
    const canvas = $("slide-ink");
    const at = (ev) => {
      const box = canvas.getBoundingClientRect();
      const x = Math.min(Math.max((ev.clientX - box.left) / box.width, 0), 1);
      const y = Math.min(Math.max((ev.clientY - box.top) / box.height, 0), 1);
      return [Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4];
    };
    canvas.addEventListener("pointerdown", (ev) => {
      if (!dc.state || !dc.state.slide) return;
      canvas.setPointerCapture(ev.pointerId);
      slides.drawing = { points: [at(ev)], color: $("ink-color").value, width: 4 };
    });
    canvas.addEventListener("pointermove", (ev) => {
      if (!slides.drawing || slides.drawing.points.length >= 2000) return;
      slides.drawing.points.push(at(ev));
      ink();
    });
    canvas.addEventListener("pointerup", () => {
      const stroke = slides.drawing;
      slides.drawing = null;
      if (!stroke) return;
      dc.interact("annotation.stroke", { ...stroke, slide: dc.state.slide.index });
    });
  }

  // --------------------------------------------------------- screen share

  async function toggleShare() {
    const button = $("share-screen");
    if (slides.screenTrack) return stopShare();
    if (!dc.screenSender) return;
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      const track = stream.getVideoTracks()[0];
      track.contentHint = "detail";
      await dc.screenSender.replaceTrack(track);
      slides.screenTrack = track;
      track.addEventListener("ended", stopShare);
      say(button, "slides.stop_share");
      dc.interact("screen.share", { active: true });
    } catch (err) {
      $("deck-status").textContent = t("slides.share_failed", { error: err.name || String(err) });
    }
  }

  async function stopShare() {
    const track = slides.screenTrack;
    if (!track) return;
    slides.screenTrack = null;
    track.stop();
    if (dc.screenSender) await dc.screenSender.replaceTrack(null);
    say($("share-screen"), "slides.share");
    dc.interact("screen.share", { active: false });
  }

  function showScreen(state) {
    const box = $("screen-box");
    if (box) box.hidden = !state.screen;
  }

  // --------------------------------------------------------------- wiring

  document.addEventListener("dc:joined", () => loadDecks());
  document.addEventListener("dc:state", (ev) => { show(ev.detail); showScreen(ev.detail); });
  document.addEventListener("dc:event", (ev) => {
    const e = ev.detail;
    if (e.type !== "annotation.stroke") return;
    const s = dc.state && dc.state.slide;
    if (s && (e.body.slide === undefined || e.body.slide === s.index)) {
      slides.strokes.push({ points: e.body.points, color: e.body.color || "#ff0000", width: e.body.width || 2 });
      ink();
    }
  });
  if (LEAD) {
    for (const el of document.querySelectorAll("[data-action=prev-slide]")) el.addEventListener("click", () => step(-1));
    for (const el of document.querySelectorAll("[data-action=next-slide]")) el.addEventListener("click", () => step(1));
    for (const el of document.querySelectorAll("[data-action=upload-deck]")) el.addEventListener("click", upload);
    $("share-screen").addEventListener("click", toggleShare);
    drawing();
  }
})();
