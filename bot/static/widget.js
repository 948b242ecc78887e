/* Trợ lý Dịch vụ công — embeddable chat widget.
 * One tag: <script src="https://HOST/widget.js" defer data-title="..." data-color="#a50e0e"
 *                  data-position="right|left" data-lang="vi|en"></script>
 * Plain JS, no build step. Shadow DOM isolates it from the host page's CSS; the gateway URL
 * comes from this script's own src. Bot and catalogue text is only ever inserted with
 * textContent, never as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__congdanWidget) return;
  window.__congdanWidget = true;

  var base = new URL(".", new URL(script.src, location.href)).href; // ".../" of widget.js
  var data = script.dataset;
  var opts = {
    title: (data.title || "").trim() || "Trợ lý Dịch vụ công",
    color: /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(data.color || "") ? data.color : "#a50e0e",
    position: data.position === "left" ? "left" : "right",
    lang: data.lang === "en" ? "en" : "vi"
  };
  var T = {
    vi: { open: "Hỏi trợ lý", close: "Đóng trợ lý", send: "Gửi", placeholder: "Nhập câu hỏi…",
      label: "Câu hỏi của Anh/Chị", bigger: "Chữ to hơn", smaller: "Chữ nhỏ hơn",
      contrast: "Tương phản cao", read: "Đọc to", mic: "Nói câu hỏi", listening: "Đang nghe… Anh/Chị nói câu hỏi.",
      heard: "Không nghe rõ. Anh/Chị thử nói lại hoặc gõ câu hỏi.",
      typing: "Trợ lý đang trả lời…", retry: "Thử lại",
      failed: "Chưa gửi được tin nhắn. Anh/Chị kiểm tra mạng rồi bấm Thử lại.",
      offline: "Mất kết nối mạng. Anh/Chị có thể gửi lại khi có mạng.",
      limited: "Anh/Chị gửi nhanh quá, vui lòng chờ một chút rồi gửi lại.",
      size: "Cỡ chữ", you: "Anh/Chị", bot: "Trợ lý", log: "Hội thoại", tools: "Tùy chỉnh hiển thị",
      hello: "Xin chào Anh/Chị! Anh/Chị cần hỏi về thủ tục nào? Ví dụ: làm giấy khai sinh, đăng ký tạm trú.",
      privacy: "Nội dung trò chuyện được lưu có thời hạn để trả lời Anh/Chị.", privacyLink: "Xem cách bảo vệ dữ liệu cá nhân" },
    en: { open: "Ask the assistant", close: "Close the assistant", send: "Send", placeholder: "Type your question…",
      label: "Your question", bigger: "Larger text", smaller: "Smaller text",
      contrast: "High contrast", read: "Read aloud", mic: "Speak your question", listening: "Listening…",
      heard: "Sorry, I did not catch that. Please try again or type.",
      typing: "The assistant is typing…", retry: "Retry",
      failed: "Your message was not sent. Check your connection and press Retry.",
      offline: "You are offline. You can send again when the connection is back.",
      limited: "Too many messages; please wait a moment and try again.",
      size: "Text size", you: "You", bot: "Assistant", log: "Conversation", tools: "Display options",
      hello: "Hello! Which public service can I help you with? (The assistant answers in Vietnamese.)",
      privacy: "The conversation is kept for a limited time to answer you.", privacyLink: "How your personal data is protected" }
  }[opts.lang];

  // ---- storage: the conversation lives for this tab (sessionStorage); display prefs persist
  var KEY = "congdan.widget", PREFS = "congdan.widget.prefs";
  function read(store, key) {
    try { return JSON.parse(window[store].getItem(key)) || {}; } catch (e) { return {}; }
  }
  function write(store, key, value) {
    try { window[store].setItem(key, JSON.stringify(value)); } catch (e) { /* blocked or full */ }
  }
  var state = read("sessionStorage", KEY);
  state.history = Array.isArray(state.history) ? state.history.slice(-60) : [];
  var prefs = read("localStorage", PREFS);
  prefs.size = Math.min(28, Math.max(14, Number(prefs.size) || 18));
  function save() { state.history = state.history.slice(-60); write("sessionStorage", KEY, state); }
  function savePrefs() { write("localStorage", PREFS, prefs); }

  // ---- DOM helpers (text only, never HTML)
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }
  function button(label, attrs, visible) {
    var b = el("button", Object.assign({ type: "button" }, attrs || {}));
    b.textContent = visible || label;
    if (visible) b.setAttribute("aria-label", label);
    return b;
  }
  var ICONS = {
    mic: "M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2z",
    speaker: "M3 9v6h4l5 5V4L7 9H3zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.47 4.47 0 0 0 2.5-4zM14 3.23v2.06a7 7 0 0 1 0 13.42v2.06A9 9 0 0 0 14 3.23z"
  };
  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "cd-icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }
  function luminance(hex) {
    var h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, "$&$&");
    return [0, 2, 4].map(function (i) {
      var c = parseInt(h.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }).reduce(function (sum, c, i) { return sum + c * [0.2126, 0.7152, 0.0722][i]; }, 0);
  }
  // Text on the brand colour: white when it reaches 4.5:1, else near-black.
  var onColor = 1.05 / (luminance(opts.color) + 0.05) >= 4.5 ? "#ffffff" : "#111111";

  var host = el("div", { "data-congdan-widget": "" });
  host.style.display = "none"; // until our stylesheet has loaded
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  var css = el("link", { rel: "stylesheet", href: base + "static/widget.css" });
  root.appendChild(css);

  var wrap = el("div", { "class": "cd-wrap cd-" + opts.position, lang: opts.lang });
  wrap.style.setProperty("--cd-color", opts.color);
  wrap.style.setProperty("--cd-on-color", onColor);
  var launcher = button(T.open, { "class": "cd-launcher", "aria-expanded": "false", "aria-controls": "cd-panel" });
  var panel = el("section", { "class": "cd-panel", id: "cd-panel", role: "dialog", "aria-labelledby": "cd-title", hidden: "" });
  var head = el("header", { "class": "cd-head" });
  head.appendChild(el("h2", { id: "cd-title" }, opts.title));
  var tools = el("div", { "class": "cd-tools", role: "group", "aria-label": T.tools });
  function sizeButton(name, text, cls) { // visible "A+" hidden from AT; the name is the words
    var b = el("button", { type: "button", "class": cls, title: name });
    b.appendChild(el("span", { "aria-hidden": "true" }, text));
    b.appendChild(el("span", { "class": "cd-visually-hidden" }, name));
    return b;
  }
  var smaller = sizeButton(T.smaller, "A−", "cd-smaller");
  var bigger = sizeButton(T.bigger, "A+", "cd-bigger");
  var contrast = button(T.contrast, { "class": "cd-contrast-toggle", "aria-pressed": "false" }, "◐");
  var close = button(T.close, { "class": "cd-close" }, "✕");
  [smaller, bigger, contrast, close].forEach(function (b) { tools.appendChild(b); });
  head.appendChild(tools);
  var log = el("div", { "class": "cd-log", role: "log", "aria-live": "off", "aria-label": T.log, tabindex: "0" });
  var typing = el("div", { "class": "cd-typing", "aria-hidden": "true", hidden: "" });
  typing.appendChild(el("span")); typing.appendChild(el("span")); typing.appendChild(el("span"));
  var announcer = el("div", { "class": "cd-visually-hidden cd-announcer", "aria-live": "polite", "aria-atomic": "true" });
  var status = el("p", { "class": "cd-status", role: "status" });
  var notice = el("div", { "class": "cd-notice", role: "alert", hidden: "" });
  var noticeText = el("p");
  var retry = button(T.retry, { "class": "cd-retry" });
  notice.appendChild(noticeText); notice.appendChild(retry);
  var form = el("form", { "class": "cd-form" });
  var label = el("label", { "for": "cd-input", "class": "cd-visually-hidden" }, T.label);
  var input = el("textarea", { id: "cd-input", rows: "2", maxlength: "1000", placeholder: T.placeholder, autocomplete: "off" });
  var mic = el("button", { type: "button", "class": "cd-mic", "aria-pressed": "false", "aria-label": T.mic, title: T.mic, hidden: "" });
  mic.appendChild(icon("mic"));
  var send = el("button", { type: "submit", "class": "cd-send" }, T.send);
  [label, input, mic, send].forEach(function (n) { form.appendChild(n); });
  [head, log, status, notice, form, announcer].forEach(function (n) { panel.appendChild(n); });
  wrap.appendChild(panel); wrap.appendChild(launcher);
  root.appendChild(wrap);

  function applyPrefs() {
    wrap.style.setProperty("--cd-size", prefs.size + "px");
    wrap.classList.toggle("cd-high-contrast", !!prefs.contrast);
    contrast.setAttribute("aria-pressed", String(!!prefs.contrast));
    smaller.disabled = prefs.size <= 14;
    bigger.disabled = prefs.size >= 28;
  }
  applyPrefs();

  function safeUrl(url) {
    try {
      var u = new URL(String(url), base);
      return ["http:", "https:", "tel:", "mailto:"].indexOf(u.protocol) >= 0 ? u.href : null;
    } catch (e) { return null; }
  }

  var synth = "speechSynthesis" in window && typeof window.SpeechSynthesisUtterance === "function" ? window.speechSynthesis : null;
  function speak(text) {
    synth.cancel();
    var u = new window.SpeechSynthesisUtterance(text);
    u.lang = "vi-VN";
    var voice = synth.getVoices().filter(function (v) { return /^vi/i.test(v.lang); })[0];
    if (voice) u.voice = voice;
    synth.speak(u);
  }

  function render(entry) {
    var item = el("div", { "class": "cd-msg cd-" + (entry.from === "user" ? "user" : "bot"), lang: "vi" });
    item.appendChild(el("span", { "class": "cd-visually-hidden" }, (entry.from === "user" ? T.you : T.bot) + ": "));
    item.appendChild(el("p", {}, entry.text));
    (entry.links || []).forEach(function (link) {
      var href = link && safeUrl(link.url);
      if (!href) return;
      item.appendChild(el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, link.title || href));
    });
    if (entry.buttons && entry.buttons.length) {
      var row = el("div", { "class": "cd-buttons" });
      entry.buttons.forEach(function (b) {
        if (!b || !b.title) return;
        var btn = button(String(b.title), { "class": "cd-quick" });
        btn.addEventListener("click", function () { ask(String(b.payload || b.title), String(b.title)); });
        row.appendChild(btn);
      });
      item.appendChild(row);
    }
    if (entry.from === "bot" && synth && entry.text) {
      var speakBtn = el("button", { type: "button", "class": "cd-read" });
      speakBtn.appendChild(icon("speaker"));
      speakBtn.appendChild(document.createTextNode(T.read));
      speakBtn.addEventListener("click", function () { speak(entry.text); });
      item.appendChild(speakBtn);
    }
    log.insertBefore(item, typing);
    return item;
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function add(entry) {
    state.history.push(entry); save();
    var node = render(entry);
    scrollDown();
    return node;
  }

  function announce(text) { // one announcement per reply, even when it has several messages
    announcer.textContent = "";
    setTimeout(function () { announcer.textContent = T.bot + ": " + text; }, 50);
  }
  function showNotice(text, canRetry) {
    noticeText.textContent = text;
    retry.hidden = !canRetry;
    notice.hidden = false;
  }
  function hideNotice() { notice.hidden = true; noticeText.textContent = ""; }

  var pending = null; // {message, shown, typed} of the send that failed, for "Thử lại"
  var busy = false;
  function ask(message, shown, typed) {
    if (busy) return;
    pending = { message: message, shown: shown, typed: typed };
    if (navigator.onLine === false) { fail(T.offline); return; }
    hideNotice();
    busy = true;
    var bubble = add({ from: "user", text: shown || message });
    typing.hidden = false; scrollDown();
    status.textContent = T.typing;
    send.disabled = true;
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, 20000);
    fetch(base + "api/chat", {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
      body: JSON.stringify({ session: state.session || null, message: message }),
      signal: controller ? controller.signal : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (r.status === 429) throw { limited: true, message: body && body.message };
        if (!r.ok || !body || !Array.isArray(body.messages)) throw { message: body && body.message };
        return body;
      });
    }).then(function (body) {
      if (body.session) state.session = body.session;
      pending = null;
      status.textContent = "";
      var said = body.messages.map(function (m) {
        add({ from: "bot", text: String(m.text || ""), buttons: m.buttons || [], links: m.links || [] });
        return String(m.text || "");
      });
      announce(said.join("\n"));
    }, function (error) {
      // Undo the optimistic bubble: the message was not delivered.
      state.history.pop(); save();
      if (bubble.parentNode) bubble.parentNode.removeChild(bubble);
      var said = error && typeof error.message === "string" && error.message;
      fail(error && error.limited ? said || T.limited : said && !(error instanceof Error) ? said : T.failed);
    }).then(function () {
      if (timer) clearTimeout(timer);
      busy = false;
      typing.hidden = true;
      send.disabled = false;
    });
  }
  function fail(text) {
    status.textContent = "";
    if (pending && pending.typed && !input.value.trim()) input.value = pending.typed;
    showNotice(text, true);
  }
  retry.addEventListener("click", function () {
    var again = pending;
    if (!again) { hideNotice(); return; }
    if (again.typed) input.value = "";
    ask(again.message, again.shown, again.typed);
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    ask(text, null, text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else send.click();
    }
  });

  function privacyLine() { // once, when a conversation starts (not kept in the history)
    var line = el("div", { "class": "cd-privacy" });
    line.style.padding = "0 12px";
    line.style.fontSize = ".9em";
    var p = el("p", {}, T.privacy);
    p.style.margin = "0";
    var link = el("a", { href: base + "privacy", target: "_blank", rel: "noopener" }, T.privacyLink);
    Object.assign(link.style, { display: "flex", alignItems: "center", minHeight: "44px", color: "inherit",
      textDecoration: "underline", fontWeight: "600" });
    line.appendChild(p); line.appendChild(link);
    log.insertBefore(line, typing);
  }

  // ---- while the panel is open, an officer's answer (or a dossier notice) shows up by itself
  var POLL_MS = 3000, poller = null, polling = false;
  function poll() {
    if (polling || busy || !state.session || navigator.onLine === false) return;
    polling = true;
    fetch(base + "api/notifications", {
      headers: { "X-Session-Token": state.session }, credentials: "omit", cache: "no-store"
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
      var items = body && Array.isArray(body.notifications) ? body.notifications : [];
      var said = items.map(function (n) { return String((n && n.text) || ""); }).filter(Boolean);
      said.forEach(function (text) { add({ from: "bot", text: text }); });
      if (said.length) announce(said.join("\n"));
    }, function () { /* offline or gateway down: the next tick tries again */ }).then(function () {
      polling = false;
    });
  }
  function watch(on) {
    if (on && !poller) poller = setInterval(poll, POLL_MS);
    if (!on && poller) { clearInterval(poller); poller = null; }
  }

  var rendered = false;
  function setOpen(open, focus) {
    panel.hidden = !open;
    launcher.hidden = open;
    launcher.setAttribute("aria-expanded", String(open));
    state.open = open; save();
    watch(open);
    if (open) {
      if (!rendered) {
        rendered = true;
        log.appendChild(typing);
        if (!state.history.length) { add({ from: "bot", text: T.hello }); announce(T.hello); privacyLine(); }
        else state.history.forEach(render);
        scrollDown();
      }
      if (focus !== false) input.focus();
    } else {
      if (synth) synth.cancel();
      if (focus !== false) launcher.focus();
    }
  }
  launcher.addEventListener("click", function () { setOpen(true); });
  close.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); setOpen(false); }
  });
  function resize(step) {
    prefs.size = Math.min(28, Math.max(14, prefs.size + step));
    savePrefs(); applyPrefs();
    status.textContent = T.size + ": " + prefs.size + "px";
  }
  bigger.addEventListener("click", function () { resize(2); });
  smaller.addEventListener("click", function () { resize(-2); });
  contrast.addEventListener("click", function () { prefs.contrast = !prefs.contrast; savePrefs(); applyPrefs(); });
  window.addEventListener("offline", function () { showNotice(T.offline, false); });
  window.addEventListener("online", function () { if (noticeText.textContent === T.offline) hideNotice(); });

  var Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (Recognition) {
    mic.hidden = false;
    var rec = null;
    mic.addEventListener("click", function () {
      if (rec) { rec.stop(); return; }
      rec = new Recognition();
      rec.lang = "vi-VN";
      rec.interimResults = false;
      rec.onresult = function (ev) { input.value = ev.results[0][0].transcript; status.textContent = ""; };
      rec.onerror = function () { status.textContent = T.heard; };
      rec.onend = function () { rec = null; mic.setAttribute("aria-pressed", "false"); input.focus(); };
      mic.setAttribute("aria-pressed", "true");
      status.textContent = T.listening;
      try { rec.start(); } catch (err) { rec = null; mic.setAttribute("aria-pressed", "false"); }
    });
  }

  function ready() {
    if (host.dataset.ready) return;
    host.style.display = "";
    if (state.open) setOpen(true, false);
    host.dataset.ready = "true";
    document.dispatchEvent(new CustomEvent("congdan:ready"));
  }
  css.addEventListener("load", ready);
  css.addEventListener("error", ready);
  if (navigator.onLine === false) showNotice(T.offline, false);
})();
