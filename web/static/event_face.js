// The face of an event: "Who is this?" for a face nobody named, "Not X?" to correct a name.
// Naming enrols the event's best faces (POST /api/faces/<name>); correcting moves the event's
// sample to the right person or drops it (PUT /api/faces/events/<id>).
"use strict";
(function () {
  var el = camwatch.el, show = camwatch.show;
  var box = document.getElementById("event-face");
  if (!box) return;
  var eventId = box.getAttribute("data-event");
  var current = box.getAttribute("data-name");
  var NO_NAME = ["", "unknown", "uncertain"];
  var toggle = document.getElementById("face-correct");
  var choices = document.getElementById("face-choices");
  var result = document.getElementById("face-result");
  var label = document.getElementById("face-name");
  var people = [];

  function named() { return NO_NAME.indexOf(current) < 0; }

  function render() {
    toggle.textContent = named() ? "Not " + current + "?" : (current === "uncertain" ? "Who is it?" : "Who is this?");
    toggle.hidden = false;
    choices.textContent = "";
    people.filter(function (p) { return p !== current; }).forEach(function (name) {
      choices.appendChild(el("button", { type: "button", "data-name": name }, name));
    });
    choices.appendChild(el("input", { type: "text", maxlength: "64", placeholder: "name", "aria-label": "Name",
      id: "face-new-name" }));
    choices.appendChild(el("button", { type: "button", "data-new": "" }, named() ? "It is this person" : "Add"));
    if (named()) choices.appendChild(el("button", { type: "button", "data-nobody": "" }, "Nobody I know"));
  }

  async function answer(name) {
    choices.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    try {
      if (named() || current === "uncertain") {
        var done = await camwatch.api("PUT", "/api/faces/events/" + encodeURIComponent(eventId), { name: name });
        current = done.name || "unknown";
        show(result, !done.note, done.name ? "Corrected: this is " + done.name + "." + (done.note ? " " + done.note : "")
          : "Corrected: nobody known; " + (done.dropped ? "the face was removed from " + done.was + "." : "no face was kept."));
      } else {
        var added = await camwatch.api("POST", "/api/faces/" + encodeURIComponent(name), { event_ids: [eventId] });
        current = added.name;
        show(result, true, "Added to " + added.name + ": camwatch will know them next time.");
      }
      label.textContent = named() ? current : "Nobody known";
      choices.hidden = true;
      box.setAttribute("data-name", current);
      render();
    } catch (err) {
      show(result, false, err.message);
    } finally {
      choices.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    }
  }

  toggle.addEventListener("click", function () { choices.hidden = !choices.hidden; });
  choices.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    if (button.hasAttribute("data-nobody")) { answer(null); return; }
    var name = button.hasAttribute("data-name") ? button.getAttribute("data-name")
      : document.getElementById("face-new-name").value.trim();
    if (!name) { show(result, false, "Type a name first."); return; }
    answer(name);
  });
  camwatch.api("GET", "/api/faces").then(function (data) {
    people = data.people.map(function (p) { return p.name; });
    render();
  }).catch(function () { box.hidden = true; });  // faces switched off: nothing to say about the face
})();
