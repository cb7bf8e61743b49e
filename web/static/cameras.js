// Cameras page: the list from GET /api/cameras (+ /settings of each), saved with PUT
// /api/cameras/<name>/settings, removed with DELETE, tried with POST /api/cameras/<name>/test.
// Passwords are sent once and never come back from the server.
"use strict";
(function () {
  var el = camwatch.el, show = camwatch.show, fact = camwatch.fact;
  var list = document.getElementById("camera-list");
  var empty = document.getElementById("no-cameras");
  var form = document.getElementById("camera-form");
  var title = document.getElementById("editor-title");
  var nameInput = document.getElementById("cam-name");
  var cancel = document.getElementById("cam-cancel");
  var formResult = document.getElementById("form-result");
  var testResult = document.getElementById("test-result");
  var testImage = document.getElementById("test-image");
  var choices = JSON.parse(list.getAttribute("data-choices"));
  var editing = null;  // the camera in the form, or null for a new one
  var cameras = [];

  function $(id) { return document.getElementById(id); }

  function kind() { return document.querySelector("input[name=kind]:checked").value; }

  function showKind() {
    var k = kind();
    $("stream-fields").hidden = k !== "stream";
    $("usb-fields").hidden = k !== "usb";
    $("file-fields").hidden = k !== "file";
    if (k === "usb") loadDevices();
  }

  function describe(source) {
    if (source.kind === "stream") return source.url + (source.username ? " (user " + source.username + ")" : "");
    if (source.kind === "usb") return "USB camera " + source.device;
    return "file " + source.path + (source.loop ? " (loops)" : "");
  }

  // A file that played to its end is done, not broken.
  function stateBadge(enabled, st) {
    if (!enabled) return ["off", "disabled"];
    if (st.online) return ["ok", "online"];
    if (st.state === "finished" || st.state === "starting") return ["idle", st.state];
    return ["bad", st.state || "offline"];
  }

  function card(cam) {
    var st = cam.status || {};
    var made = camwatch.settingsCard({ "class": "card camera-settings", "data-camera": cam.name }, cam.display_name,
      stateBadge(cam.enabled, st), [["edit", "Edit", ""], ["test", "Test", ""], ["delete", "Delete", "danger"]]);
    var article = made.article, dl = made.facts;
    fact(dl, "Key", cam.name + " (in addresses and MQTT)");
    fact(dl, "Source", describe(cam.source)).setAttribute("data-field", "source");
    fact(dl, "Watches for", cam.labels.length ? cam.labels.join(", ") : "nothing");
    fact(dl, "Looks", cam.fps + " times a second");
    if (cam.enabled && !st.online && st.last_error) fact(dl, "Problem", st.last_error).setAttribute("data-field", "error");
    var result = el("div", { "data-field": "result", role: "status", hidden: "" });
    result.appendChild(el("p", { "data-field": "message" }));
    var img = el("img", { alt: "A picture from the camera test", hidden: "" });
    result.appendChild(img);
    article.appendChild(result);
    return article;
  }

  function labelBoxes(selected) {
    var box = $("choice-labels");
    box.textContent = "";
    var all = choices.labels.slice();
    selected.forEach(function (l) { if (all.indexOf(l) < 0) all.push(l); });
    all.forEach(function (label) {
      var row = el("label", { "class": "check" });
      var input = el("input", { type: "checkbox", value: label, "data-label": label });
      input.checked = selected.indexOf(label) >= 0;
      row.appendChild(input);
      row.appendChild(document.createTextNode(" " + label));
      box.appendChild(row);
    });
  }

  function fillForm(cam) {
    editing = cam ? cam.name : null;
    title.textContent = cam ? "Edit " + cam.display_name : "Add a camera";
    nameInput.value = cam ? cam.name : "";
    nameInput.readOnly = !!cam;
    $("cam-display").value = cam && cam.display_name !== cam.name ? cam.display_name : "";
    var source = cam ? cam.source : { kind: "stream" };
    $("kind-" + source.kind).checked = true;
    $("cam-url").value = source.kind === "stream" ? (source.url || "") : "";
    $("cam-user").value = source.kind === "stream" ? (source.username || "") : "";
    $("cam-password").value = "";
    var stored = source.kind === "stream" && source.has_password;
    $("cam-password").placeholder = stored ? "leave empty to keep the stored password (same address and user)" : "";
    $("keep-password-row").hidden = !stored;
    $("cam-clear-password").checked = false;
    $("cam-path").value = source.kind === "file" ? source.path : "";
    $("cam-loop").checked = source.kind === "file" ? source.loop : false;
    labelBoxes(cam ? cam.labels : choices.default_labels);
    $("cam-fps").value = cam ? cam.fps : choices.default_fps;
    $("cam-enabled").checked = cam ? cam.enabled : true;
    cancel.hidden = !cam;
    testResult.hidden = true;
    showKind();
    if (source.kind === "usb") loadDevices(source.device);
  }

  function formSource() {
    var k = kind();
    if (k === "usb") return { kind: "usb", device: $("cam-device").value };
    if (k === "file") return { kind: "file", path: $("cam-path").value.trim(), loop: $("cam-loop").checked };
    var source = { kind: "stream", url: $("cam-url").value.trim(), username: $("cam-user").value.trim() || null };
    var password = $("cam-password").value;
    if (password) source.password = password;
    else if ($("cam-clear-password").checked) source.password = "";
    return source;
  }

  async function loadDevices(selected) {
    var select = $("cam-device");
    try {
      var found = await camwatch.api("GET", "/api/usb-cameras");
      select.textContent = "";
      found.devices.forEach(function (d) {
        var user = d.camera ? cameras.find(function (c) { return c.name === d.camera; }) : null;
        var text = d.path + " · " + d.name + (d.camera ? " (camera " + (user ? user.display_name : d.camera) + ")" : "") +
          (d.capture ? "" : " (metadata)");
        var option = el("option", { value: d.path }, text);
        if (d.path === selected) option.selected = true;
        select.appendChild(option);
      });
      $("no-devices").hidden = found.devices.length > 0;
    } catch (err) { show(formResult, false, err.message); }
  }

  async function load() {
    var live = await camwatch.api("GET", "/api/cameras");
    var settings = await Promise.all(live.cameras.map(function (c) {
      return camwatch.api("GET", "/api/cameras/" + encodeURIComponent(c.name) + "/settings");
    }));
    cameras = settings.map(function (s, i) { s.status = live.cameras[i].status; return s; });
    list.querySelectorAll("article.camera-settings").forEach(function (a) { a.remove(); });
    cameras.forEach(function (c) { list.appendChild(card(c)); });
    empty.hidden = cameras.length > 0;
  }

  async function runTest(name, body, target) {
    var message = target.querySelector('[data-field="message"]');
    var img = target.querySelector("img");
    target.hidden = false;
    img.hidden = true;
    show(message, true, "Testing… (up to about 10 s)");
    try {
      var answer = await camwatch.api("POST", "/api/cameras/" + encodeURIComponent(name) + "/test", body);
      if (answer.ok) {
        show(message, true, "Works: " + answer.width + "×" + answer.height + ", " + answer.fps.toFixed(1) +
          " frames a second" + (answer.fps_measured ? " (measured)" : " (the file's own rate)") + ".");
        img.src = answer.image;
        img.hidden = false;
      } else {
        show(message, false, "No picture: " + answer.message);
      }
      target.setAttribute("data-ok", answer.ok ? "1" : "0");
    } catch (err) {
      show(message, false, err.message);
      target.setAttribute("data-ok", "0");
    }
  }

  list.addEventListener("click", async function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var article = button.closest("article.camera-settings");
    var name = article.getAttribute("data-camera");
    var cam = cameras.find(function (c) { return c.name === name; });
    var result = article.querySelector('[data-field="result"]');
    var action = button.getAttribute("data-action");
    if (action === "edit") {
      fillForm(cam);
      form.scrollIntoView({ behavior: "smooth" });
    } else if (action === "test") {
      var source = Object.assign({}, cam.source);
      delete source.has_password;
      await runTest(name, { source: source, fps: cam.fps }, result);
    } else if (action === "delete" && window.confirm("Remove the camera " + cam.display_name + "? Its recorded events stay.")) {
      try {
        await camwatch.api("DELETE", "/api/cameras/" + encodeURIComponent(name));
        if (editing === name) fillForm(null);
        await load();
        show(formResult, true, "Removed " + cam.display_name + ": it has stopped; its events stay.");
      } catch (err) { show(result, false, err.message); result.hidden = false; }
    }
  });

  document.querySelectorAll("input[name=kind]").forEach(function (r) { r.addEventListener("change", showKind); });

  $("cam-test").addEventListener("click", function () {
    var name = nameInput.value.trim() || "new_camera";
    runTest(name, { source: formSource(), fps: Number($("cam-fps").value || 5) }, testResult);
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var name = nameInput.value.trim();
    var labels = Array.prototype.map.call(document.querySelectorAll("#choice-labels input:checked"),
      function (i) { return i.value; });
    var body = {
      source: formSource(), name: $("cam-display").value.trim() || null, labels: labels,
      fps: Number($("cam-fps").value || 5), enabled: $("cam-enabled").checked,
    };
    try {
      await camwatch.api("PUT", "/api/cameras/" + encodeURIComponent(name) + "/settings", body);
      var added = editing === null;
      fillForm(null);
      await load();
      show(formResult, true, (added ? "Added " : "Saved ") + name + ": it is starting now.");
    } catch (err) {
      show(formResult, false, err.message);
    }
  });
  cancel.addEventListener("click", function () { fillForm(null); formResult.hidden = true; });

  async function refreshStatus() {
    var live = await camwatch.api("GET", "/api/cameras");
    live.cameras.forEach(function (c) {
      var article = list.querySelector('article.camera-settings[data-camera="' + c.name + '"]');
      if (!article) return;
      var st = c.status || {};
      var badge = article.querySelector('[data-field="state"]');
      var state = stateBadge(c.enabled, st);
      badge.className = "badge " + state[0];
      badge.textContent = state[1];
    });
  }

  fillForm(null);
  load().catch(function (err) { show(formResult, false, "Could not load the cameras: " + err.message); });
  setInterval(function () { if (!document.hidden) refreshStatus().catch(function () {}); }, 3000);
})();
