// Runtime switches (PUT /api/control): the Arm/Disarm switch in the top bar (every page) and the
// per-camera detection / snapshots / motion switches on the dashboard cards. Disarming asks
// first and says what it switches off (the dialog in base.html); arming needs no question.
// The page shows the server's state: after every change, on load, when the tab comes back,
// and on the dashboard whenever the live stream sends a `control` message (dashboard.js).
"use strict";
(function () {
  var armSwitch = document.getElementById("arm-switch");
  var disarmDialog = document.getElementById("disarm-dialog");
  var errorBox = document.getElementById("control-error");
  var busy = 0;  // requests in flight: a stale snapshot must not flip a switch back meanwhile
  var errorTimer = null;

  function showError(message) {
    if (!errorBox) return;
    errorBox.textContent = "Could not change the switch: " + message;
    errorBox.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(function () { errorBox.hidden = true; }, 6000);
  }

  function setArmed(armed) {
    document.querySelectorAll('[data-field="armed-text"]').forEach(function (el) {
      el.textContent = armed ? "armed" : "disarmed";
    });
    document.querySelectorAll('[data-field="disarmed-note"]').forEach(function (el) { el.hidden = armed; });
    if (!armSwitch) return;
    armSwitch.setAttribute("aria-checked", armed ? "true" : "false");
    armSwitch.className = "arm " + (armed ? "on" : "off");
    armSwitch.title = "Alerts for the whole system: tap to " + (armed ? "disarm" : "arm");
    armSwitch.querySelector('[data-field="arm-label"]').textContent = armed ? "Armed" : "Disarmed";
  }

  function cameraInputs(camera) {
    var card = document.querySelector('article.camera[data-camera="' + CSS.escape(camera) + '"]');
    return card ? card.querySelectorAll("input[data-switch]") : [];
  }

  function setCamera(camera, switches) {
    cameraInputs(camera).forEach(function (input) {
      var value = switches[input.getAttribute("data-switch")];
      if (typeof value === "boolean") input.checked = value;
    });
  }

  // Apply a GET /api/control snapshot: {"armed": bool, "cameras": {name: {detect, snapshots, motion, zones}}}.
  function apply(snapshot) {
    if (!snapshot || busy > 0) return;
    if (typeof snapshot.armed === "boolean") setArmed(snapshot.armed);
    Object.keys(snapshot.cameras || {}).forEach(function (name) { setCamera(name, snapshot.cameras[name]); });
  }

  async function send(camera, feature, value, control) {
    busy += 1;
    control.disabled = true;
    control.setAttribute("aria-busy", "true");
    try {
      var snapshot = await camwatch.api("PUT", "/api/control", { camera: camera, feature: feature, value: value });
      busy -= 1;
      apply(snapshot);
      if (errorBox) errorBox.hidden = true;
      return true;
    } catch (err) {
      busy -= 1;
      showError(err.message);
      return false;
    } finally {
      control.disabled = false;
      control.removeAttribute("aria-busy");
    }
  }

  async function refresh() {
    try { apply(await camwatch.api("GET", "/api/control")); } catch (err) { /* offline: keep what is shown */ }
  }

  if (armSwitch) {
    armSwitch.addEventListener("click", async function () {
      var wanted = armSwitch.getAttribute("aria-checked") !== "true";
      if (!wanted && disarmDialog) {
        disarmDialog.returnValue = "";
        disarmDialog.showModal();
        return;
      }
      if (await send(null, "armed", wanted, armSwitch) === false) refresh();
    });
  }
  if (armSwitch && disarmDialog) {
    disarmDialog.addEventListener("close", async function () {
      if (disarmDialog.returnValue !== "disarm") return;
      if (await send(null, "armed", false, armSwitch) === false) refresh();
    });
  }

  document.querySelectorAll("article.camera input[data-switch]").forEach(function (input) {
    input.addEventListener("change", async function () {
      var camera = input.closest("article.camera").getAttribute("data-camera");
      var wanted = input.checked;
      if (!await send(camera, input.getAttribute("data-switch"), wanted, input)) input.checked = !wanted;
    });
  });

  // A page restored from the back/forward cache or a tab left open may show an old state.
  window.addEventListener("pageshow", function (event) { if (event.persisted) refresh(); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });

  camwatch.controls = { apply: apply, setCamera: setCamera, refresh: refresh };
})();
