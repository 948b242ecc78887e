/* Trợ lý Dịch vụ công — embeddable chat widget.
 * <script src="https://HOST/widget.js" defer data-title="..." data-color="#a50e0e"
 *         data-position="right|left" data-lang="vi"></script>
 * Plain JS, no build step. Shadow DOM isolates it from the host page's CSS.
 * Bot and catalogue text is always inserted with textContent, never as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__congdanWidget) return;
  window.__congdanWidget = true;
  var base = new URL(script.src, location.href).origin;
  var opts = {
    title: script.dataset.title || "Trợ lý Dịch vụ công",
    color: /^#[0-9a-fA-F]{3,8}$/.test(script.dataset.color || "") ? script.dataset.color : "#a50e0e",
    position: script.dataset.position === "left" ? "left" : "right",
    lang: script.dataset.lang === "en" ? "en" : "vi"
  };
  var T = {
    vi: { open: "Hỏi trợ lý", close: "Đóng", send: "Gửi", placeholder: "Nhập câu hỏi…",
      label: "Câu hỏi của Anh/Chị", bigger: "Chữ to hơn", smaller: "Chữ nhỏ hơn",
      contrast: "Tương phản cao", read: "Đọc to", mic: "Nói", typing: "Trợ lý đang trả lời…",
      retry: "Gửi lại", failed: "Chưa gửi được. Kiểm tra mạng rồi bấm Gửi lại.",
      offline: "Mất kết nối mạng. Tin nhắn sẽ gửi được khi có mạng trở lại.",
      limited: "Anh/Chị gửi nhanh quá, vui lòng chờ một chút rồi gửi lại.",
      you: "Anh/Chị", bot: "Trợ lý", log: "Hội thoại",
      hello: "Xin chào Anh/Chị! Anh/Chị cần hỏi về thủ tục nào? Ví dụ: làm giấy khai sinh, đăng ký tạm trú." },
    en: { open: "Ask the assistant", close: "Close", send: "Send", placeholder: "Type your question…",
      label: "Your question", bigger: "Larger text", smaller: "Smaller text",
      contrast: "High contrast", read: "Read aloud", mic: "Speak", typing: "The assistant is typing…",
      retry: "Retry", failed: "Not sent. Check your connection and press Retry.",
      offline: "You are offline. Messages can be sent when the connection is back.",
      limited: "Too many messages; please wait a moment.", you: "You", bot: "Assistant", log: "Conversation",
      hello: "Hello! Which public service can I help you with?" }
  }[opts.lang];
  var KEY = "congdan.widget";
  var state = load();

  function load() {
    try { return JSON.parse(sessionStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try { sessionStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* storage full or blocked */ }
  }
  state.history = Array.isArray(state.history) ? state.history.slice(-60) : [];
  state.size = state.size || 18;

  var host = document.createElement("div");
  host.setAttribute("data-congdan-widget", "");
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "/static/widget.css";
  root.appendChild(css);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  var wrap = el("div", { "class": "cd-wrap cd-" + opts.position });
  wrap.style.setProperty("--cd-color", opts.color);
  var launcher = el("button", { "class": "cd-launcher", type: "button", "aria-expanded": "false",
    "aria-controls": "cd-panel" }, T.open);
  var panel = el("section", { "class": "cd-panel", id: "cd-panel", role: "dialog", "aria-label": opts.title, hidden: "" });
  var head = el("header", { "class": "cd-head" });
  head.appendChild(el("h2", {}, opts.title));
  var tools = el("div", { "class": "cd-tools" });
  var smaller = el("button", { type: "button", "aria-label": T.smaller, title: T.smaller }, "A−");
  var bigger = el("button", { type: "button", "aria-label": T.bigger, title: T.bigger }, "A+");
  var contrast = el("button", { type: "button", "aria-pressed": String(!!state.contrast), title: T.contrast }, "◐");
  contrast.setAttribute("aria-label", T.contrast);
  var close = el("button", { type: "button", "aria-label": T.close, title: T.close }, "✕");
  [smaller, bigger, contrast, close].forEach(function (b) { tools.appendChild(b); });
  head.appendChild(tools);
  var log = el("div", { "class": "cd-log", role: "log", "aria-live": "polite", "aria-label": T.log, tabindex: "0" });
  var status = el("p", { "class": "cd-status", role: "status", "aria-live": "polite" });
  var form = el("form", { "class": "cd-form" });
  var input = el("textarea", { rows: "2", maxlength: "1000", "aria-label": T.label, placeholder: T.placeholder });
  var mic = el("button", { type: "button", "class": "cd-mic", "aria-label": T.mic, title: T.mic, hidden: "" }, "🎤");
  var send = el("button", { type: "submit", "class": "cd-send" }, T.send);
  form.appendChild(input); form.appendChild(mic); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(status); panel.appendChild(form);
  wrap.appendChild(panel); wrap.appendChild(launcher);
  root.appendChild(wrap);

  function applyPrefs() {
    wrap.style.setProperty("--cd-size", state.size + "px");
    wrap.classList.toggle("cd-contrast", !!state.contrast);
    contrast.setAttribute("aria-pressed", String(!!state.contrast));
  }
  applyPrefs();

  function safeUrl(url) {
    try {
      var u = new URL(url, base);
      return ["http:", "https:", "tel:", "mailto:"].indexOf(u.protocol) >= 0 ? u.href : null;
    } catch (e) { return null; }
  }

  var synth = window.speechSynthesis;
  function speak(text) {
    if (!synth) return;
    synth.cancel();
    var u = new SpeechSynthesisUtterance(text);
    u.lang = "vi-VN";
    var voice = synth.getVoices().filter(function (v) { return /^vi/i.test(v.lang); })[0];
    if (voice) u.voice = voice;
    synth.speak(u);
  }

  function render(entry) {
    var item = el("div", { "class": "cd-msg cd-" + entry.from });
    item.appendChild(el("span", { "class": "cd-visually-hidden" }, (entry.from === "user" ? T.you : T.bot) + ": "));
    item.appendChild(el("p", {}, entry.text));
    (entry.links || []).forEach(function (link) {
      var href = safeUrl(link.url);
      if (!href) return;
      var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, link.title || href);
      item.appendChild(a);
    });
    if (entry.buttons && entry.buttons.length) {
      var row = el("div", { "class": "cd-buttons" });
      entry.buttons.forEach(function (b) {
        var btn = el("button", { type: "button" }, b.title);
        btn.addEventListener("click", function () { ask(b.payload, b.title); });
        row.appendChild(btn);
      });
      item.appendChild(row);
    }
    if (entry.from === "bot" && synth && entry.text) {
      var read = el("button", { type: "button", "class": "cd-read", "aria-label": T.read + ": " + entry.text.slice(0, 40) }, "🔊 " + T.read);
      read.addEventListener("click", function () { speak(entry.text); });
      item.appendChild(read);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function add(entry) { state.history.push(entry); save(); render(entry); }

  var pending = null;
  function ask(message, shown) {
    if (!navigator.onLine) { status.textContent = T.offline; return; }
    add({ from: "user", text: shown || message });
    pending = message;
    status.textContent = T.typing;
    send.disabled = true;
    fetch(base + "/api/chat", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session: state.session || null, message: message })
    }).then(function (r) {
      if (r.status === 429) { throw new Error("limited"); }
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body && body.message ? body.message : "failed"); }
        return body;
      });
    }).then(function (body) {
      state.session = body.session;
      pending = null;
      status.textContent = "";
      (body.messages || []).forEach(function (m) {
        add({ from: "bot", text: m.text || "", buttons: m.buttons || [], links: m.links || [] });
      });
    }).catch(function (error) {
      status.textContent = error.message === "limited" ? T.limited : T.failed;
      input.value = pending || input.value;
      send.textContent = T.retry;
    }).then(function () { send.disabled = false; });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    if (pending && text === pending && state.history.length && state.history[state.history.length - 1].from === "user") {
      state.history.pop(); save();
    }
    input.value = "";
    send.textContent = T.send;
    ask(text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : send.click(); }
  });

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.hidden = open;
    state.open = open; save();
    if (open) {
      if (!log.childNodes.length) {
        if (!state.history.length) add({ from: "bot", text: T.hello });
        else state.history.forEach(render);
      }
      input.focus();
    } else { launcher.focus(); }
  }
  launcher.addEventListener("click", function () { setOpen(true); });
  close.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });
  bigger.addEventListener("click", function () { state.size = Math.min(state.size + 2, 28); save(); applyPrefs(); });
  smaller.addEventListener("click", function () { state.size = Math.max(state.size - 2, 14); save(); applyPrefs(); });
  contrast.addEventListener("click", function () { state.contrast = !state.contrast; save(); applyPrefs(); });
  window.addEventListener("offline", function () { status.textContent = T.offline; });
  window.addEventListener("online", function () { if (status.textContent === T.offline) status.textContent = ""; });

  var Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (Recognition) {
    mic.hidden = false;
    mic.addEventListener("click", function () {
      var rec = new Recognition();
      rec.lang = "vi-VN";
      rec.onresult = function (ev) { input.value = ev.results[0][0].transcript; input.focus(); };
      rec.start();
    });
  }
  if (state.open) setOpen(true);
  host.dataset.ready = "true";
})();
