// camwatch: helpers shared by every page (no inline scripts: the CSP forbids them).
// Names and times are shown the same way everywhere (camwatch.web.present on the server side):
// a camera by its display name, an event in plain words, a time in the browser's locale.
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
  // A time in this browser's locale; clock: the time of day only (the moments of one event).
  function formatTime(seconds, clock) {
    if (seconds === null || seconds === undefined || seconds === "") return "—";
    var date = new Date(Number(seconds) * 1000);
    return clock ? date.toLocaleTimeString() : date.toLocaleString();
  }
  // <time data-time="unix seconds"> written by the server: shown in this browser's locale.
  function localTimes(root) {
    (root || document).querySelectorAll("time[data-time]").forEach(function (node) {
      node.textContent = formatTime(node.getAttribute("data-time"), node.hasAttribute("data-clock"));
    });
  }
  // A camera's name for people: its display name (events carry camera_name, cameras display_name).
  function cameraName(item) {
    return item.camera_name || item.display_name || item.camera || item.name || "";
  }
  function words(text) { return String(text || "").replace(/_/g, " "); }
  // What an event is, in a word or two: the recognised name, the object or the anomaly.
  function eventTitle(e) {
    var what;
    if (e.kind === "anomaly") what = words(e.subtype || e.label || "anomaly");
    else if (e.sub_label && e.sub_label !== "unknown") return e.sub_label;
    else what = words(e.label || "something");
    return what.charAt(0).toUpperCase() + what.slice(1);
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { localTimes(); });
  else localTimes();
  return { api: api, cameraName: cameraName, csrf: csrf, el: el, eventTitle: eventTitle, fact: fact,
           formatTime: formatTime, localTimes: localTimes, settingsCard: settingsCard, show: show, words: words };
})();
