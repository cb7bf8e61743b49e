// Dashboard: camera cards (and the runtime switches, controls.js) kept live by Server-Sent Events
// from /api/stream, and the count of events the owner has not seen (GET /api/events/unseen).
"use strict";
(function () {
  var liveState = document.getElementById("live-state");

  function field(card, name) { return card.querySelector('[data-field="' + name + '"]'); }

  function setList(list, items, empty) {
    list.textContent = "";
    if (!items.length) {
      var li = document.createElement("li");
      li.className = "muted";
      li.textContent = empty;
      list.appendChild(li);
      return;
    }
    items.forEach(function (node) { list.appendChild(node); });
  }

  function updateCamera(cam) {
    var card = document.querySelector('article.camera[data-camera="' + cam.name + '"]');
    if (!card) return;
    var st = cam.status || {};
    var badge = field(card, "state");
    badge.textContent = st.online ? "online" : (st.state || "offline");
    badge.className = "badge " + (st.online ? "ok" : "bad");
    field(card, "fps").textContent = typeof st.processed_fps === "number" ? st.processed_fps.toFixed(1) : "—";
    field(card, "detector").textContent = typeof cam.detector_ms === "number" ? Math.round(cam.detector_ms) + " ms" : "—";
    field(card, "motion").textContent = st.motion ? "yes" : "no";
    var img = field(card, "still");
    if (cam.still_url) {
      var src = cam.still_url + "?t=" + cam.still_time;
      if (img.getAttribute("src") !== src) img.setAttribute("src", src);
      img.hidden = false;
      var none = field(card, "no-still");
      if (none) none.remove();
    }
    var counts = Object.keys(st.counts || {}).map(function (label) {
      var li = document.createElement("li");
      li.textContent = label + ": " + st.counts[label];
      return li;
    });
    setList(field(card, "counts"), counts, "nothing");
    if (cam.switches && camwatch.controls) camwatch.controls.apply({ cameras: { [cam.name]: cam.switches } });
  }

  function updateEvents(events) {
    document.querySelectorAll("article.camera").forEach(function (card) {
      var name = card.getAttribute("data-camera");
      var items = events.filter(function (e) { return e.camera === name; }).slice(0, 5).map(function (e) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = "/events/" + encodeURIComponent(e.id);
        a.textContent = camwatch.eventTitle(e) + " " + Math.round(e.top_score * 100) + "% · " + camwatch.formatTime(e.start_time);
        li.appendChild(a);
        return li;
      });
      setList(field(card, "events"), items, "none yet");
    });
  }

  async function updateUnseen() {
    try {
      var count = (await camwatch.api("GET", "/api/events/unseen")).unseen;
      document.getElementById("unseen-count").textContent = count;
      document.querySelector('[data-field="unseen-words"]').textContent =
        (count === 1 ? "event" : "events") + " you have not seen yet";
      document.getElementById("unseen-link").hidden = count === 0;
      document.getElementById("all-seen").hidden = count !== 0;
      var nav = document.getElementById("nav-unseen");
      if (nav) { nav.textContent = count; nav.hidden = count === 0; }
    } catch (err) { /* offline: keep what is shown */ }
  }

  var source = new EventSource("/api/stream");
  source.addEventListener("open", function () { liveState.textContent = "connected"; liveState.className = "live on"; });
  source.addEventListener("error", function () { liveState.textContent = "reconnecting…"; liveState.className = "live"; });
  source.addEventListener("cameras", function (msg) { JSON.parse(msg.data).cameras.forEach(updateCamera); });
  source.addEventListener("control", function (msg) {
    if (camwatch.controls) camwatch.controls.apply(JSON.parse(msg.data));
  });
  source.addEventListener("events", function (msg) { updateEvents(JSON.parse(msg.data).events); updateUnseen(); });
  window.addEventListener("beforeunload", function () { source.close(); });
})();
