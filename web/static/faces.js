// Known faces: the Faces page (people, their crops, unnamed faces, photo upload) and the
// "Who is this?" control under an event's face crop. Everything goes through /api/faces.
"use strict";
(function () {
  var el = camwatch.el, show = camwatch.show;
  var peopleList = document.getElementById("people-list");
  var unknownList = document.getElementById("unknown-faces");
  var datalist = document.getElementById("known-people");
  var people = [];

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

  // "Who is this?": one button per known person, or a new name; enrols the event's face crop.
  function whois(box, eventId, done) {
    box.textContent = "";
    box.appendChild(el("span", { "class": "muted" }, "Who is this?"));
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
        await camwatch.api("POST", personUrl(name), { event_id: eventId });
        show(result, true, "Added to " + name + ".");
        if (done) await done(name);
      } catch (err) {
        show(result, false, err.message);
        box.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      }
    };
    box.hidden = false;
  }

  function sampleTile(person, sample) {
    var tile = el("div", { "class": "crop", "data-sample": String(sample.id) });
    tile.appendChild(el("img", { src: sample.url, alt: "Face of " + person, loading: "lazy" }));
    tile.appendChild(el("button", { type: "button", "class": "danger", "data-action": "delete-sample",
      title: "Delete this face", "aria-label": "Delete this face" }, "×"));
    return tile;
  }

  async function personCard(name) {
    var person = await camwatch.api("GET", personUrl(name));
    var card = el("article", { "class": "card person", "data-person": person.name });
    var header = el("header");
    header.appendChild(el("h2", { "data-field": "name" }, person.name));
    header.appendChild(el("span", { "class": "muted" }, person.samples + (person.samples === 1 ? " face" : " faces")));
    card.appendChild(header);
    var crops = el("div", { "class": "crops" });
    person.sample_list.forEach(function (s) { crops.appendChild(sampleTile(person.name, s)); });
    card.appendChild(crops);
    var rename = el("div", { "class": "whois" });
    rename.appendChild(el("input", { type: "text", maxlength: "64", value: person.name, "aria-label": "Name", "data-field": "new-name" }));
    rename.appendChild(el("button", { type: "button", "data-action": "rename" }, "Rename"));
    rename.appendChild(el("button", { type: "button", "class": "danger", "data-action": "delete-person" }, "Delete person"));
    card.appendChild(rename);
    card.appendChild(el("p", { "data-field": "result", role: "status", hidden: "" }));
    return card;
  }

  async function loadPeople() {
    var data = await loadNames();
    peopleList.textContent = "";
    for (var i = 0; i < data.people.length; i++) peopleList.appendChild(await personCard(data.people[i].name));
    document.getElementById("no-people").hidden = data.people.length > 0;
  }

  async function loadUnknown() {
    var data = await camwatch.api("GET", "/api/faces/unknown");
    unknownList.textContent = "";
    data.faces.forEach(function (face) {
      var card = el("article", { "class": "card unknown-face", "data-event": face.event_id });
      var link = el("a", { href: face.event_url });
      link.appendChild(el("img", { src: face.face_url, alt: "Unnamed face", loading: "lazy" }));
      card.appendChild(link);
      card.appendChild(el("p", { "class": "muted" }, face.camera + " · " + camwatch.formatTime(face.start_time)));
      var box = el("div", { "class": "whois" });
      card.appendChild(box);
      whois(box, face.event_id, refresh);
      unknownList.appendChild(card);
    });
    document.getElementById("no-unknown").hidden = data.faces.length > 0;
  }

  async function refresh() {
    await loadPeople();
    await loadUnknown();
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
        if (action === "rename") {
          var newName = card.querySelector('[data-field="new-name"]').value.trim();
          if (!newName || newName === name) return;
          await camwatch.api("PATCH", personUrl(name), { name: newName });
        } else if (action === "delete-sample") {
          if (!window.confirm("Delete this face of " + name + "?")) return;
          var id = button.closest("[data-sample]").getAttribute("data-sample");
          await camwatch.api("DELETE", personUrl(name) + "/" + encodeURIComponent(id));
        } else if (action === "delete-person") {
          if (!window.confirm("Delete " + name + " and every face of them?")) return;
          await camwatch.api("DELETE", personUrl(name));
        }
        await refresh();
      } catch (err) { show(result, false, err.message); }
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
  }

  if (peopleList) facesPage();
  document.querySelectorAll(".whois[data-event]").forEach(function (box) {
    loadNames().then(function () {
      whois(box, box.getAttribute("data-event"), async function (name) {
        box.querySelectorAll("button").forEach(function (b) { b.hidden = true; });
        box.querySelector("input").hidden = true;
        box.querySelector("span").textContent = "This is " + name + ".";
      });
    }).catch(function () { box.hidden = true; });  // faces switched off: no control
  });
})();
