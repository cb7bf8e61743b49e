// camwatch: helpers shared by every page (no inline scripts: the CSP forbids them).
"use strict";
window.camwatch = (function () {
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  async function api(method, url, body) {
    var options = { method: method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    var response = await fetch(url, options);
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      var message = data && data.error ? data.error : response.status + " " + response.statusText;
      throw new Error(message);
    }
    return data;
  }
  // An element with attributes and text (text through textContent: never parsed as HTML).
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  // A result line under a form: green when ok, red otherwise.
  function show(target, ok, message) {
    if (!target) return;
    target.hidden = false;
    target.className = ok ? "ok-text" : "error";
    target.textContent = message;
  }
  // One label/value pair of a card's fact list; returns the value's element.
  function fact(dl, label, value) {
    dl.appendChild(el("dt", {}, label));
    var dd = el("dd", {}, value);
    dl.appendChild(dd);
    return dd;
  }
  // A settings card (cameras, notification destinations): title and state badge ([class,
  // text]), an empty fact list to fill, and a button per [action, text, class].
  function settingsCard(attrs, title, badge, buttons) {
    var article = el("article", attrs);
    var header = el("header");
    header.appendChild(el("h2", {}, title));
    header.appendChild(el("span", { "class": "badge " + badge[0], "data-field": "state" }, badge[1]));
    article.appendChild(header);
    var facts = el("dl", { "class": "facts" });
    article.appendChild(facts);
    var actions = el("div", { "class": "actions" });
    buttons.forEach(function (b) {
      actions.appendChild(el("button", { type: "button", "data-action": b[0], "class": b[2] }, b[1]));
    });
    article.appendChild(actions);
    return { article: article, facts: facts };
  }
  function formatTime(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    return new Date(seconds * 1000).toLocaleString();
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  return { api: api, csrf: csrf, el: el, fact: fact, formatTime: formatTime, settingsCard: settingsCard, show: show };
})();
