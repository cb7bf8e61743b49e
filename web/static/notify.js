// Notifications page: destinations from GET /api/notify, saved with PUT, removed with DELETE,
// tried with POST /api/notify/test (a saved destination's test counts like a delivery); the
// page address messages link to (PUT /api/notify/settings). Addresses are sent once and never
// come back from the server.
"use strict";
(function () {
  var el = camwatch.el, show = camwatch.show, fact = camwatch.fact;
  var list = document.getElementById("destinations");
  var empty = document.getElementById("no-destinations");
  var form = document.getElementById("destination-form");
  var nameInput = document.getElementById("dest-name");
  var urlInput = document.getElementById("dest-url");
  var title = document.getElementById("editor-title");
  var cancel = document.getElementById("dest-cancel");
  var formResult = document.getElementById("form-result");
  var editing = null;  // name of the destination in the form, or null for a new one
  var state = { destinations: [], choices: { cameras: [], labels: [], zones: [] } };

  function cameraName(key) {
    var cam = state.choices.cameras.find(function (c) { return c.name === key; });
    return cam ? cam.display_name : key;
  }

  function summary(d) {
    var parts = [];
    parts.push(d.labels.length ? d.labels.map(camwatch.words).join(", ") : "everything");
    parts.push(d.cameras.length ? "on " + d.cameras.map(cameraName).join(", ") : "on every camera");
    if (d.zones.length) parts.push("in " + d.zones.join(", "));
    parts.push(d.only_armed ? "when armed" : "armed or not");
    return parts.join(" · ");
  }

  function card(d) {
    var st = d.status || {};
    var badge = !d.enabled ? ["off", "disabled"] : st.state === "failing" ? ["bad", "failing"] : st.state === "ok" ? ["ok", "working"] : ["idle", "nothing sent yet"];
    var made = camwatch.settingsCard({ "class": "card destination", "data-name": d.name }, d.name, badge,
      [["edit", "Edit", ""], ["test", "Send test", ""], ["delete", "Delete", "danger"]]);
    var article = made.article, dl = made.facts;
    fact(dl, "Service", d.service);
    fact(dl, "Sends", summary(d));
    fact(dl, "Snapshot", d.attach_snapshot ? "attached (the picture leaves this device)" : "text only");
    fact(dl, "Rate limit", d.min_interval > 0 ? "one per camera every " + d.min_interval + " s" : "none");
    fact(dl, "Delivered", (st.sent || 0) + " sent · " + (st.failed || 0) + " failed · " + (st.held_back || 0) +
      " held back · " + (st.retries || 0) + " retries, since " + camwatch.formatTime(st.since))
      .setAttribute("data-field", "counters");
    if (st.tests) {
      fact(dl, "Tests", st.tests + " sent · last " + camwatch.formatTime(st.last_test) + " (" +
        (st.last_test_ok ? "delivered" : "not delivered") + ")").setAttribute("data-field", "tests");
    }
    if (st.last_error) {
      fact(dl, "Last problem", camwatch.formatTime(st.last_error_time) + " · " + st.last_error).setAttribute("data-field", "last-error");
    }
    article.appendChild(el("p", { "data-field": "result", role: "status", hidden: "" }));
    return article;
  }

  function checkboxes(containerId, items, selected) {
    var box = document.getElementById(containerId);
    box.textContent = "";
    items.forEach(function (item) {
      var value = typeof item === "string" ? item : item.name;
      var text = typeof item === "string" ? item.replace(/_/g, " ") : item.display_name;
      var label = el("label", { "class": "check" });
      var input = el("input", { type: "checkbox", value: value, "data-choice": containerId });
      input.checked = selected.indexOf(value) >= 0;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + text));
      box.appendChild(label);
    });
  }

  function ticked(containerId) {
    return Array.prototype.map.call(
      document.querySelectorAll('#' + containerId + ' input:checked'), function (i) { return i.value; });
  }

  function fillForm(d) {
    editing = d ? d.name : null;
    title.textContent = d ? "Edit " + d.name : "Add a destination";
    nameInput.value = d ? d.name : "";
    nameInput.readOnly = !!d;
    urlInput.value = "";
    urlInput.required = !d;
    urlInput.placeholder = d ? "leave empty to keep the current address" : "ntfy://my-secret-topic";
    checkboxes("choice-cameras", state.choices.cameras, d ? d.cameras : []);
    checkboxes("choice-labels", state.choices.labels, d ? d.labels : []);
    checkboxes("choice-zones", state.choices.zones, d ? d.zones : []);
    document.getElementById("zones-set").hidden = !state.choices.zones.length;
    document.getElementById("dest-only-armed").checked = d ? d.only_armed : true;
    document.getElementById("dest-attach").checked = d ? d.attach_snapshot : false;
    document.getElementById("dest-interval").value = d ? d.min_interval : 60;
    document.getElementById("dest-enabled").checked = d ? d.enabled : true;
    cancel.hidden = !d;
  }

  function showLink(link) {
    var text = document.getElementById("link-state");
    if (link && link.web_url) {
      text.textContent = "Each message links to its event on " + link.web_url +
        (link.from === "mqtt.web_url" ? " (the address given for Home Assistant)." : ".");
    } else {
      text.textContent = "Messages carry no link yet: give the address you open this page at, and each " +
        "message links to its event.";
    }
    var input = document.getElementById("link-url");
    if (!input.value) input.value = link && link.web_url ? link.web_url : "";
  }

  async function load() {
    state = await camwatch.api("GET", "/api/notify");
    showLink(state.link);
    list.querySelectorAll("article.destination").forEach(function (a) { a.remove(); });
    state.destinations.forEach(function (d) { list.appendChild(card(d)); });
    empty.hidden = state.destinations.length > 0;
    if (!editing) fillForm(null);
  }

  async function test(body, target) {
    show(target, true, "Sending…");
    try {
      var answer = await camwatch.api("POST", "/api/notify/test", body);
      if (answer.ok) show(target, true, "Sent: check that it arrived.");
      else show(target, false, "Not delivered: " + answer.error);
    } catch (err) {
      show(target, false, err.message);
    }
  }

  list.addEventListener("click", async function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var article = button.closest("article.destination");
    var name = article.getAttribute("data-name");
    var result = article.querySelector('[data-field="result"]');
    var action = button.getAttribute("data-action");
    if (action === "edit") {
      fillForm(state.destinations.find(function (d) { return d.name === name; }));
      form.scrollIntoView({ behavior: "smooth" });
    } else if (action === "test") {
      await test({ name: name }, result);
      // The test counts like a delivery: the card shows it, with the result kept under it.
      var shown = { hidden: result.hidden, className: result.className, text: result.textContent };
      await load();
      var fresh = list.querySelector('article.destination[data-name="' + CSS.escape(name) + '"] [data-field="result"]');
      if (fresh) { fresh.hidden = shown.hidden; fresh.className = shown.className; fresh.textContent = shown.text; }
    } else if (action === "delete" && window.confirm("Delete the destination " + name + "?")) {
      try {
        await camwatch.api("DELETE", "/api/notify/destinations/" + encodeURIComponent(name));
        if (editing === name) fillForm(null);
        await load();
      } catch (err) { show(result, false, err.message); }
    }
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var name = nameInput.value.trim();
    var body = {
      cameras: ticked("choice-cameras"), labels: ticked("choice-labels"), zones: ticked("choice-zones"),
      only_armed: document.getElementById("dest-only-armed").checked,
      attach_snapshot: document.getElementById("dest-attach").checked,
      min_interval: Number(document.getElementById("dest-interval").value || 0),
      enabled: document.getElementById("dest-enabled").checked,
    };
    if (urlInput.value.trim()) body.url = urlInput.value.trim();
    try {
      await camwatch.api("PUT", "/api/notify/destinations/" + encodeURIComponent(name), body);
      editing = null;
      await load();
      show(formResult, true, "Saved " + name + ": in use now.");
    } catch (err) {
      show(formResult, false, err.message);
    }
  });

  document.getElementById("dest-test").addEventListener("click", function () {
    var url = urlInput.value.trim();
    if (url) test({ url: url, name: nameInput.value.trim() || "new destination" }, formResult);
    else if (editing) test({ name: editing }, formResult);
    else show(formResult, false, "Type the address first.");
  });
  cancel.addEventListener("click", function () { fillForm(null); formResult.hidden = true; });

  document.getElementById("link-here").addEventListener("click", function () {
    document.getElementById("link-url").value = window.location.origin;
  });
  document.getElementById("link-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    var result = document.getElementById("link-result");
    var url = document.getElementById("link-url").value.trim();
    try {
      var link = await camwatch.api("PUT", "/api/notify/settings", { web_url: url || null });
      document.getElementById("link-url").value = "";
      showLink(link);
      show(result, true, link.web_url ? "Saved: messages link to " + link.web_url + "." : "Saved: no link.");
    } catch (err) {
      show(result, false, err.message);
    }
  });

  load().catch(function (err) { show(formResult, false, "Could not load the destinations: " + err.message); });
})();
