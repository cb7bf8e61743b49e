// Known faces: the Faces page (unnamed faces grouped by person, people and their crops, photo
// upload, per-camera alerts on unknown faces). Everything goes through /api/faces.
"use strict";
(function () {
  var el = camwatch.el, show = camwatch.show;
  var peopleList = document.getElementById("people-list");
  var unknownList = document.getElementById("unknown-faces");
  var datalist = document.getElementById("known-people");
  var people = [];
  var SHOWN_GROUPS = 4;  // "Who is this?" cards shown before "Show more"
  var SHOWN_CROPS = 4;   // crops of a person shown before "+N"
  var expanded = false;

  function personUrl(name) { return "/api/faces/" + encodeURIComponent(name); }

  async function loadNames() {
    var data = await camwatch.api("GET", "/api/faces");
    people = data.people.map(function (p) { return p.name; });
    if (datalist) {
      datalist.textContent = "";
      people.forEach(function (name) { datalist.appendChild(el("option", { value: name })); });
    }
    return data;
  }

  // "Who is this?" on a group: one button per known person, or a new name; enrols the group's best faces.
  function whois(box, eventIds, done) {
    box.textContent = "";
    people.forEach(function (name) {
      box.appendChild(el("button", { type: "button", "data-enrol": name }, name));
    });
    var input = el("input", { type: "text", maxlength: "64", placeholder: "new name", "aria-label": "New name" });
    box.appendChild(input);
    box.appendChild(el("button", { type: "button", "data-enrol-new": "" }, "Add"));
    var result = el("p", { role: "status", hidden: "" });
    box.appendChild(result);
    box.onclick = async function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      var name = button.hasAttribute("data-enrol") ? button.getAttribute("data-enrol") : input.value.trim();
      if (!name) { show(result, false, "Type a name first."); return; }
      box.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      try {
        var added = await camwatch.api("POST", personUrl(name), { event_ids: eventIds });
        show(result, true, "Added to " + added.name + ".");
        if (done) await done(added.name);
      } catch (err) {
        show(result, false, err.message);
        box.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      }
    };
  }

  function groupCard(group) {
    var card = el("article", { "class": "card unknown-face", "data-event": group.key,
      "data-events": group.events.join(" "), "data-count": String(group.count) });
    var link = el("a", { href: group.event_url });
    link.appendChild(el("img", { src: group.face_url, alt: "Unnamed face", loading: "lazy" }));
    card.appendChild(link);
    var seen = el("div", { "class": "seen" });
    seen.appendChild(el("div", { "class": "count" }, group.count === 1 ? "Seen once" : "Seen " + group.count + " times"));
    seen.appendChild(el("div", { "class": "muted" }, group.cameras.join(", ")));
    seen.appendChild(el("div", { "class": "muted" }, "last " + camwatch.formatTime(group.last_time)));
    seen.appendChild(el("button", { type: "button", "data-action": "dismiss", title: "Not someone to name" }, "Dismiss"));
    card.appendChild(seen);
    if (group.usable) {
      var box = el("div", { "class": "whois" });
      card.appendChild(box);
      whois(box, group.events, refresh);
    } else {
      card.appendChild(el("p", { "class": "muted reason" }, "Cannot be named: " + group.reason + "."));
    }
    return card;
  }

  async function loadUnknown() {
    var data = await camwatch.api("GET", "/api/faces/unknown");
    unknownList.textContent = "";
    data.groups.forEach(function (group, i) {
      var card = groupCard(group);
      if (!expanded && i >= SHOWN_GROUPS) card.hidden = true;
      unknownList.appendChild(card);
    });
    var more = document.getElementById("unknown-more");
    var hiddenCount = expanded ? 0 : Math.max(0, data.groups.length - SHOWN_GROUPS);
    more.hidden = hiddenCount === 0;
    more.textContent = "Show " + hiddenCount + " more";
    document.getElementById("unknown-count").textContent = data.groups.length ? "(" + data.groups.length + ")" : "";
    document.getElementById("no-unknown").hidden = data.groups.length > 0;
  }

  function sampleTile(person, sample, hidden) {
    var tile = el("div", { "class": "crop", "data-sample": String(sample.id) });
    if (hidden) tile.hidden = true;
    tile.appendChild(el("img", { src: sample.url, alt: "Face of " + person, loading: "lazy" }));
    tile.appendChild(el("button", { type: "button", "class": "danger", "data-action": "delete-sample",
      title: "Delete this face", "aria-label": "Delete this face" }, "×"));
    return tile;
  }

  async function personCard(name) {
    var person = await camwatch.api("GET", personUrl(name));
    var card = el("article", { "class": "card person", "data-person": person.name });
    var header = el("header");
    header.appendChild(el("h3", { "data-field": "name" }, person.name));
    header.appendChild(el("span", { "class": "muted" }, person.samples + (person.samples === 1 ? " face" : " faces")));
    card.appendChild(header);
    var crops = el("div", { "class": "crops" });
    person.sample_list.forEach(function (s, i) { crops.appendChild(sampleTile(person.name, s, i >= SHOWN_CROPS)); });
    if (person.sample_list.length > SHOWN_CROPS) {
      crops.appendChild(el("button", { type: "button", "class": "more", "data-action": "more-crops" },
        "+" + (person.sample_list.length - SHOWN_CROPS)));
    }
    card.appendChild(crops);
    var rename = el("div", { "class": "whois" });
    rename.appendChild(el("input", { type: "text", maxlength: "64", value: person.name, "aria-label": "Name", "data-field": "new-name" }));
    rename.appendChild(el("button", { type: "button", "data-action": "rename" }, "Rename"));
    rename.appendChild(el("button", { type: "button", "class": "danger", "data-action": "delete-person" }, "Delete"));
    card.appendChild(rename);
    card.appendChild(el("p", { "data-field": "result", role: "status", hidden: "" }));
    return card;
  }

  async function loadPeople() {
    var data = await loadNames();
    var cards = [];
    for (var i = 0; i < data.people.length; i++) cards.push(await personCard(data.people[i].name));
    peopleList.textContent = "";
    cards.forEach(function (card) { peopleList.appendChild(card); });
    document.getElementById("no-people").hidden = data.people.length > 0;
    var form = document.getElementById("upload-form");
    if (!data.people.length && form.hidden) toggleUpload(true);
  }

  async function loadAlerts() {
    var box = document.getElementById("alert-cameras");
    var data = await camwatch.api("GET", "/api/faces/unknown/alerts");
    box.textContent = "";
    data.cameras.forEach(function (cam) {
      var label = el("label", { "class": "check" });
      var input = el("input", { type: "checkbox", "data-camera": cam.camera });
      input.checked = cam.unknown_alert;
      label.appendChild(input);
      label.appendChild(document.createTextNode(cam.name));
      box.appendChild(label);
    });
    if (!data.cameras.length) box.appendChild(el("p", { "class": "muted" }, "No cameras yet."));
  }

  async function refresh() {
    await loadPeople();
    await loadUnknown();
  }

  function toggleUpload(open) {
    var form = document.getElementById("upload-form");
    form.hidden = !open;
    document.getElementById("upload-open").setAttribute("aria-expanded", open ? "true" : "false");
    if (open) document.getElementById("upload-name").focus();
  }

  // A crop still on its way (or not yet asked for, below the fold) when its person is renamed or
  // deleted would come back 404: stop those loads before the change instead of letting them fail.
  // If the change is refused, the card is drawn again with its crops.
  function stopLoading(node) {
    node.querySelectorAll("img").forEach(function (img) {
      if (!img.complete) img.removeAttribute("src");
    });
  }

  function facesPage() {
    peopleList.addEventListener("click", async function (event) {
      var button = event.target.closest("button[data-action]");
      if (!button) return;
      var card = button.closest("article.person");
      var name = card.getAttribute("data-person");
      var result = card.querySelector('[data-field="result"]');
      var action = button.getAttribute("data-action");
      try {
        if (action === "more-crops") {
          card.querySelectorAll(".crop[hidden]").forEach(function (t) { t.hidden = false; });
          button.hidden = true;
          return;
        } else if (action === "rename") {
          var newName = card.querySelector('[data-field="new-name"]').value.trim();
          if (!newName || newName === name) return;
          stopLoading(card);
          await camwatch.api("PATCH", personUrl(name), { name: newName });
        } else if (action === "delete-sample") {
          if (!window.confirm("Delete this face of " + name + "?")) return;
          var tile = button.closest("[data-sample]");
          var id = tile.getAttribute("data-sample");
          stopLoading(tile);
          await camwatch.api("DELETE", personUrl(name) + "/" + encodeURIComponent(id));
        } else if (action === "delete-person") {
          if (!window.confirm("Delete " + name + " and every face of them?")) return;
          stopLoading(card);
          await camwatch.api("DELETE", personUrl(name));
        }
        await refresh();
      } catch (err) {
        show(result, false, err.message);
        loadPeople().then(function () {
          var again = peopleList.querySelector('article.person[data-person="' + CSS.escape(name) + '"] [data-field="result"]');
          if (again) show(again, false, err.message);
        }).catch(function () {});
      }
    });

    unknownList.addEventListener("click", async function (event) {
      var button = event.target.closest("button[data-action=dismiss]");
      if (!button) return;
      var card = button.closest("article.unknown-face");
      button.disabled = true;
      try {
        await camwatch.api("POST", "/api/faces/unknown/dismiss",
          { event_ids: card.getAttribute("data-events").split(" ") });
        await loadUnknown();
      } catch (err) { button.disabled = false; show(document.getElementById("upload-result"), false, err.message); }
    });

    document.getElementById("unknown-more").addEventListener("click", function () {
      expanded = true;
      unknownList.querySelectorAll("article[hidden]").forEach(function (card) { card.hidden = false; });
      this.hidden = true;
    });

    document.getElementById("upload-open").addEventListener("click", function () {
      toggleUpload(document.getElementById("upload-form").hidden);
    });

    document.getElementById("alert-cameras").addEventListener("change", async function (event) {
      var input = event.target.closest("input[data-camera]");
      if (!input) return;
      var result = document.getElementById("alerts-result");
      try {
        await camwatch.api("PUT", "/api/faces/unknown/alerts",
          { camera: input.getAttribute("data-camera"), unknown_alert: input.checked });
        show(result, true, "Saved.");
      } catch (err) { input.checked = !input.checked; show(result, false, err.message); }
    });

    document.getElementById("upload-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      var result = document.getElementById("upload-result");
      var name = document.getElementById("upload-name").value.trim();
      var file = document.getElementById("upload-file").files[0];
      if (!name || !file) return;
      var body = new FormData();
      body.append("file", file);
      show(result, true, "Uploading…");
      var response = await fetch(personUrl(name), {
        method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRF-Token": camwatch.csrf() },
      });
      var data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      if (!response.ok) { show(result, false, (data && data.error) || response.statusText); return; }
      show(result, true, "Added a face to " + data.name + ".");
      event.target.reset();
      await refresh();
    });
    refresh().catch(function (err) { show(document.getElementById("upload-result"), false, err.message); });
    loadAlerts().catch(function (err) { show(document.getElementById("alerts-result"), false, err.message); });
  }

  if (peopleList) facesPage();
})();
