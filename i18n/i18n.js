// Languages for every dualclass page (Simplified Chinese and English).
//
// Texts come from the message catalogues /i18n/zh-CN.json and /i18n/en.json; no
// page script holds words of its own. The language is ?lang= if given, else the
// one chosen earlier with the switch (localStorage), else the first of the
// browser's languages we have, else Chinese. Elements say what they show:
//   data-i18n="key"               textContent
//   data-i18n-placeholder="key"   placeholder     data-i18n-title="key"  title
// and an element with [data-lang-switch] gets the visible switch. Scripts use
// dcI18n.t(key, {name: value}) and the locale formatters below, wait for
// dcI18n.ready, and listen for the "dc:lang" event to redraw after a switch.
"use strict";

(() => {
  const LANGS = ["zh-CN", "en"];
  const STORE = "dc.lang";

  function supported(tag) {
    const low = String(tag || "").toLowerCase();
    if (low.startsWith("zh")) return "zh-CN";
    if (low.startsWith("en")) return "en";
    return null;
  }

  function pick() {
    const asked = supported(new URLSearchParams(location.search).get("lang"));
    if (asked) return asked;
    let saved = null;
    try { saved = supported(localStorage.getItem(STORE)); } catch (e) { /* private mode */ }
    if (saved) return saved;
    for (const tag of navigator.languages || [navigator.language]) {
      const found = supported(tag);
      if (found) return found;
    }
    return "zh-CN";
  }

  const i18n = (window.dcI18n = { lang: pick(), messages: {}, missing: [] });

  i18n.t = (key, params) => {
    let text = i18n.messages[key];
    if (text === undefined) {
      if (!i18n.missing.includes(key)) i18n.missing.push(key);
      text = key;
    }
    if (params) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
    return text;
  };

  // locale formatting: numbers, percentages, times, dates, "3 min ago". Intl
  // formatters are costly to build: one per language and options, reused.
  const formatters = new Map();
  function fmt(kind, options, name) {
    const key = `${i18n.lang}|${kind}|${name || JSON.stringify(options)}`;
    let found = formatters.get(key);
    if (!found) {
      found = new Intl[kind](i18n.lang, options);
      formatters.set(key, found);
    }
    return found;
  }
  const none = (v) => v === null || v === undefined;
  i18n.num = (value, digits) => (none(value) ? "—" :
    fmt("NumberFormat", { maximumFractionDigits: digits === undefined ? 1 : digits }, `n${digits}`).format(value));
  i18n.pct = (share, digits) => (none(share) ? "—" :
    fmt("NumberFormat", { style: "percent", maximumFractionDigits: digits === undefined ? 1 : digits }, `p${digits}`).format(share));
  i18n.time = (ms) => (ms ? fmt("DateTimeFormat", { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(new Date(ms)) : "—");
  i18n.dateTime = (ms) => (ms ? fmt("DateTimeFormat", { dateStyle: "medium", timeStyle: "short" }).format(new Date(ms)) : "—");
  i18n.date = (iso) => fmt("DateTimeFormat", { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${iso}T00:00:00Z`));
  i18n.ago = (seconds) => {
    const rtf = fmt("RelativeTimeFormat", { numeric: "auto" }, "ago");
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return rtf.format(-s, "second");
    if (s < 3600) return rtf.format(-Math.floor(s / 60), "minute");
    if (s < 86400) return rtf.format(-Math.floor(s / 3600), "hour");
    return rtf.format(-Math.floor(s / 86400), "day");
  };

  i18n.apply = (root) => {
    const scope = root || document;
    for (const el of scope.querySelectorAll("[data-i18n]")) el.textContent = i18n.t(el.dataset.i18n);
    for (const el of scope.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = i18n.t(el.dataset.i18nPlaceholder);
    for (const el of scope.querySelectorAll("[data-i18n-title]")) el.title = i18n.t(el.dataset.i18nTitle);
    if (!root) document.documentElement.lang = i18n.lang;
  };

  function drawSwitch() {
    for (const host of document.querySelectorAll("[data-lang-switch]")) {
      host.replaceChildren();
      const label = document.createElement("label");
      label.className = "lang-switch";
      const text = document.createElement("span");
      text.textContent = i18n.t("lang.label");
      const select = document.createElement("select");
      select.id = "lang-switch";
      for (const lang of LANGS) {
        const option = document.createElement("option");
        option.value = lang;
        option.textContent = i18n.t(`lang.${lang}`);
        option.selected = lang === i18n.lang;
        select.append(option);
      }
      select.addEventListener("change", () => i18n.set(select.value));
      label.append(text, select);
      host.append(label);
    }
  }

  async function load(lang) {
    const response = await fetch(`/i18n/${lang}.json`, { cache: "force-cache" });
    if (!response.ok) throw new Error(`catalogue ${lang}: ${response.status}`);
    i18n.messages = await response.json();
    i18n.lang = lang;
    i18n.missing = [];
    i18n.apply();
    drawSwitch();
  }

  i18n.set = async (lang) => {
    if (!LANGS.includes(lang)) return;
    try { localStorage.setItem(STORE, lang); } catch (e) { /* private mode */ }
    const url = new URL(location.href);
    if (url.searchParams.has("lang")) {
      url.searchParams.set("lang", lang);
      history.replaceState(null, "", url);
    }
    await load(lang);
    document.dispatchEvent(new CustomEvent("dc:lang", { detail: lang }));
  };

  i18n.ready = load(i18n.lang);
})();
