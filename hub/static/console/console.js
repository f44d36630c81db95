// dualclass teacher console: signalling over /ws/signal, the browser's own WebRTC.
//
// The hub makes the offer; `joined.layout` says which m-lines take this
// classroom's camera and microphone (direction "recvonly" at the hub; for the
// lead also its shared screen, slot "screen") and which slot ("main" = lead,
// "floor" = floor holder, "screen" = the lead's screen) each received m-line shows.
// aiortc does no trickle ICE, so the answer is sent only once ICE gathering is
// complete, with every candidate inside the SDP.
// State for tests and debugging is kept on `window.dc`. Words come from the
// message catalogues (dcI18n.t, see /i18n/i18n.js); times are the page's locale.
"use strict";

(() => {
  const i18n = window.dcI18n;
  const t = (key, params) => i18n.t(key, params);
  const ROLE = document.body.dataset.role; // "lead", "tutor" or "observer"
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  const $ = (id) => document.getElementById(id);
  // an element showing data (not a catalogue text) must not be re-translated on a switch
  const show = (id, text) => { const e = $(id); delete e.dataset.i18n; e.textContent = text; };
  const say = (id, key, params) => { const e = $(id); e.dataset.i18n = key; e.textContent = t(key, params); };
  // Beside a classroom node the console only watches: the node keeps sending the
  // classroom's camera. "Use this device's camera" (or ?camera=1) is the teacher's
  // explicit choice to send this device's camera instead; switching back hands it
  // to the node again. ?relay=1 uses TURN relays only (a UDP-blocking firewall).
  const dc = (window.dc = {
    role: ROLE, ws: null, pc: null, joined: null, state: null, events: [],
    errors: [], acks: [], answered: false, localStream: null,
    camera: params.get("camera") === "1", relayOnly: params.get("relay") === "1",
    connects: 0,
  });

  // ------------------------------------------------------------------ log

  function log(text, cls) {
    const li = document.createElement("li");
    li.textContent = `${i18n.time(Date.now())} ${text}`;
    if (cls) li.className = cls;
    const list = $("log");
    list.prepend(li);
    while (list.children.length > 300) list.lastChild.remove();
  }

  function describe(event) {
    const body = event.body && Object.keys(event.body).length ? " " + JSON.stringify(event.body) : "";
    return t("console.event", { seq: event.seq, type: event.type, src: event.src || "", body });
  }

  // ------------------------------------------------------------- signalling

  function send(message) {
    if (dc.ws && dc.ws.readyState === WebSocket.OPEN) dc.ws.send(JSON.stringify(message));
  }

  function interact(event, body) {
    send({ type: "interact", event, body: body || {} });
  }

  function connect() {
    if (!token) {
      say("who", "console.no_token");
      log(t("console.no_token"), "error");
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = (dc.ws = new WebSocket(`${scheme}://${location.host}/ws/signal`));
    dc.answered = false;
    dc.connects += 1;
    // layers: 2 -- a camera sent from here goes up twice (high and low), like a node's
    ws.onopen = () => send({ type: "join", token, role: ROLE, camera: dc.camera, layers: 2 });
    ws.onmessage = (msg) => onMessage(JSON.parse(msg.data));
    ws.onclose = (ev) => {
      if (dc.ws !== ws) return; // replaced on purpose (camera switch)
      closeMedia();
      show("who", t("console.disconnected", { code: ev.code }));
      log(t("console.signalling_closed", { code: ev.code }), "error");
      // a refused join (bad/expired token, wrong page) will not get better by retrying
      if ([4400, 4401, 4403, 4404].includes(ev.code)) return;
      // another console took this classroom's camera: keep watching
      if (ev.code === 4409) dc.camera = false;
      say("who", "console.reconnecting");
      dc.retry = Math.min((dc.retry || 0.5) * 2, 10);
      setTimeout(connect, dc.retry * 1000);
    };
  }

  function closeMedia() {
    if (dc.pc) dc.pc.close();
    dc.pc = null;
    if (dc.localStream) for (const track of dc.localStream.getTracks()) track.stop();
    dc.localStream = null;
    const self = $("video-self");
    if (self && self.srcObject && !dc.camera) self.srcObject = null;
  }

  // Switch between watching and sending this device's camera: a new join says which.
  function setCamera(on) {
    dc.camera = on;
    const old = dc.ws;
    dc.ws = null;
    closeMedia();
    if (old) old.close(1000);
    renderCamera();
    connect();
  }

  function renderCamera() {
    const b = $("camera");
    if (!b) return;
    say("camera", dc.camera ? "console.camera_return" : "console.camera_use");
    say("camera-state", dc.camera ? "console.camera_sending" : "console.camera_watching");
  }

  async function onMessage(m) {
    switch (m.type) {
      case "joined":
        dc.joined = m;
        document.dispatchEvent(new CustomEvent("dc:joined", { detail: m }));
        dc.retry = 0;
        dc.camera = Boolean(m.camera);
        renderCamera();
        show("who", `${t(`console.role.${m.role}`)} · ${m.session}` + (m.acting_as ? ` · ${m.acting_as}` : ""));
        log(t("console.joined", { session: m.session, role: t(`console.role.${m.role}`) }), "info");
        break;
      case "offer":
        try {
          await answerOffer(m.sdp);
        } catch (err) {
          log(t("console.media_failed", { error: String(err) }), "error");
        }
        break;
      case "state":
        dc.state = m.state;
        render(m.state);
        document.dispatchEvent(new CustomEvent("dc:state", { detail: m.state }));
        break;
      case "event":
        dc.events.push(m.event);
        log(describe(m.event));
        document.dispatchEvent(new CustomEvent("dc:event", { detail: m.event }));
        break;
      case "ack":
        dc.acks.push(m);
        break;
      case "layer":
        // which of the lead's two camera layers the hub sends here, and why
        dc.layer = m;
        log(t("console.layer", { layer: t(`console.layer_${m.layer}`), reason: m.reason }), "info");
        break;
      case "error":
        dc.errors.push(m);
        log(t("console.refused", { code: m.code, detail: m.detail ? " — " + m.detail : "" }), "error");
        break;
    }
  }

  // ------------------------------------------------------------------ media

  async function localMedia() {
    try {
      return await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    } catch (err) {
      log(t("console.no_camera", { error: err.name }), "error");
      return null;
    }
  }

  function gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (pc.iceGatheringState === "complete") {
          pc.removeEventListener("icegatheringstatechange", check);
          resolve();
        }
      };
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  async function answerOffer(sdp) {
    const layout = (dc.joined && dc.joined.layout) || [];
    // the hub's STUN/TURN servers, TURN credentials minted for this join
    const pc = (dc.pc = new RTCPeerConnection({
      iceServers: (dc.joined && dc.joined.ice_servers) || [],
      iceTransportPolicy: dc.relayOnly ? "relay" : "all",
      bundlePolicy: "max-bundle",
    }));
    pc.onconnectionstatechange = () => log(t("console.media_state", { state: t(`console.pc.${pc.connectionState}`) }), "info");
    await pc.setRemoteDescription({ type: "offer", sdp });
    const transceivers = pc.getTransceivers();
    if (transceivers.length !== layout.length) {
      throw new Error(`offer has ${transceivers.length} m-lines, layout ${layout.length}`);
    }
    // the camera and microphone lines (a "screen" line waits for a shared screen)
    const upstream = layout.some((line) => line.direction === "recvonly" && !line.slot);
    const local = upstream ? (dc.localStream = await localMedia()) : null;
    // asked to send this device's camera but there is none: give it back to the node
    if (upstream && !local && dc.camera) return setCamera(false);
    if (local) $("video-self").srcObject = local;
    const slots = {};
    const senders = [];
    layout.forEach((line, i) => {
      const t = transceivers[i];
      if (line.direction === "recvonly" && line.slot === "screen") {
        // the lead's shared screen: nothing until slides.js puts a display track here
        t.direction = "sendonly";
        dc.screenSender = t.sender;
        return;
      }
      if (line.direction === "recvonly") {
        // the camera goes on both layer lines (the low one scaled down after the answer)
        const track = local && local.getTracks().find((tr) => tr.kind === line.kind);
        if (track) {
          t.sender.replaceTrack(track);
          t.direction = "sendonly";
          senders.push([t.sender, line.layer || (line.kind === "audio" ? "audio" : null)]);
        } else {
          t.direction = "inactive";
        }
        return;
      }
      t.direction = "recvonly";
      (slots[line.slot] = slots[line.slot] || new MediaStream()).addTrack(t.receiver.track);
    });
    for (const [slot, stream] of Object.entries(slots)) {
      // the lead console has no "main" tile: watching, it shows the relayed main in "self"
      const video = $(`video-${slot}`) || (slot === "main" ? $("video-self") : null);
      if (video) video.srcObject = stream;
    }
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc); // no trickle: the answer carries every candidate
    send({ type: "answer", sdp: pc.localDescription.sdp });
    dc.answered = true;
    for (const [sender, layer] of senders) await encodeAs(sender, layer);
  }

  // What each upstream sends: the hub forwards every classroom the camera layer its
  // link carries, so the low one must really be small; voice needs little.
  const ENCODINGS = {
    high: { maxBitrate: 1000000, maxFramerate: 30 },
    low: { maxBitrate: 250000, maxFramerate: 15, scaleResolutionDownBy: 2 },
    audio: { maxBitrate: 32000 },
  };

  async function encodeAs(sender, layer) {
    const wanted = ENCODINGS[layer];
    if (!wanted) return;
    try {
      const params = sender.getParameters();
      if (!params.encodings || !params.encodings.length) params.encodings = [{}];
      Object.assign(params.encodings[0], wanted);
      await sender.setParameters(params);
    } catch (err) {
      log(t("console.media_failed", { error: String(err) }), "error");
    }
  }

  $("sound").addEventListener("click", () => {
    for (const v of document.querySelectorAll("video:not(#video-self)")) v.muted = !v.muted;
    const muted = [...document.querySelectorAll("video:not(#video-self)")].every((v) => v.muted);
    say("sound", muted ? "console.sound_on" : "console.sound_off");
  });

  // ------------------------------------------------------------------ state

  function button(label, onClick, cls) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (cls) b.className = cls;
    b.addEventListener("click", onClick);
    return b;
  }

  // After the lesson the lead's video tile says so, on every page alike: whether
  // the picture behind still moves depends on when each classroom hangs up.
  function renderEnded(ended) {
    dc.ended = ended;
    const main = $("video-main");
    if (!main) return;
    let note = $("ended-note");
    if (!note) {
      note = document.createElement("p");
      note.id = "ended-note";
      note.className = "ended-note";
      main.after(note);
    }
    note.hidden = !ended;
    say("ended-note", "console.ended");
  }

  function render(s) {
    const badge = $("status");
    badge.textContent = t(`console.status.${s.status}`);
    badge.className = `badge ${s.status}`;
    renderEnded(s.status === "ended");
    if (s.floor) show("floor-name", s.floor); else say("floor-name", "console.nobody");
    if (s.quiz) {
      show("quiz", t("console.quiz_line", {
        quiz: s.quiz.quiz, question: s.quiz.question || t("console.no_question"),
        choices: s.quiz.choices.join(" / "), answered: i18n.num(s.quiz.answered.length, 0),
      }));
    } else {
      say("quiz", "console.no_quiz");
    }
    const hands = $("hands");
    hands.replaceChildren();
    for (const node of s.hands) {
      const li = document.createElement("li");
      li.textContent = node;
      if (ROLE === "lead") {
        li.append(button(t("console.give_floor"), () => interact("floor.grant", { node })));
        li.append(button(t("console.lower_hand"), () => interact("hand.lower", { node }), "secondary"));
      }
      hands.append(li);
    }
    if (ROLE === "lead") renderRoster(s);
    if (ROLE === "tutor") renderAnswers(s);
  }

  function renderRoster(s) {
    const roster = $("roster");
    roster.replaceChildren();
    for (const [node, role] of Object.entries(s.roster)) {
      if (role !== "partner") continue;
      const li = document.createElement("li");
      const att = s.attendance[node];
      li.textContent = node +
        (att ? ` · ${t("console.attendance", { present: i18n.num(att.present, 0), enrolled: i18n.num(att.enrolled, 0) })}` : "") +
        (s.floor === node ? ` · ${t("console.has_floor")}` : "");
      if (s.floor !== node) li.append(button(t("console.give_floor"), () => interact("floor.grant", { node })));
      roster.append(li);
    }
  }

  function renderAnswers(s) {
    const answers = $("answers");
    answers.replaceChildren();
    if (!s.quiz) return;
    s.quiz.choices.forEach((choice, i) => {
      answers.append(button(`${i}: ${choice}`, () => interact("quiz.answer", { quiz: s.quiz.quiz, choice: i })));
    });
  }

  // --------------------------------------------------------------- controls

  const actions = {
    start: () => interact("lesson.start", { title: $("title").value }),
    end: () => interact("lesson.end"),
    "open-quiz": () => interact("quiz.open", {
      quiz: `q${Date.now()}`,
      question: $("question").value,
      choices: $("choices").value.split(",").map((c) => c.trim()).filter(Boolean),
    }),
    "close-quiz": () => {
      if (!dc.state || !dc.state.quiz) return log(t("console.no_quiz"), "error");
      const correct = $("correct").value === "" ? undefined : Number($("correct").value);
      interact("quiz.close", { quiz: dc.state.quiz.quiz, correct });
    },
    revoke: () => interact("floor.revoke"),
    raise: () => interact("hand.raise"),
    lower: () => interact("hand.lower"),
    "give-up": () => interact("floor.revoke", dc.joined ? { node: dc.joined.acting_as } : {}),
    attendance: () => interact("attendance.report", {
      present: Number($("present").value), enrolled: Number($("enrolled").value),
    }),
  };
  if ($("camera")) $("camera").addEventListener("click", () => setCamera(!dc.camera));
  dc.setCamera = setCamera;
  renderCamera();
  for (const el of document.querySelectorAll("[data-action]")) {
    if (actions[el.dataset.action]) el.addEventListener("click", () => actions[el.dataset.action]());
  }
  dc.interact = interact;

  document.addEventListener("dc:lang", () => { if (dc.state) render(dc.state); });
  i18n.ready.then(connect, connect);
})();
