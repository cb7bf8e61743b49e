// Zones and masks editor: polygons drawn on the camera's latest still, saved in relative 0..1 coordinates.
// Each zone has an on/off switch: it shows whether the zone is in use now (its configuration and
// its runtime switch, which Home Assistant also sets) and is saved with the shapes.
"use strict";
(function () {
  var editor = document.getElementById("editor");
  var canvas = document.getElementById("zone-canvas");
  var ctx2d = canvas.getContext("2d");
  var statusLine = document.getElementById("status");
  var list = document.getElementById("shapes");
  var nameInput = document.getElementById("zone-name");
  var buttons = {
    newZone: document.getElementById("new-zone"), newMask: document.getElementById("new-mask"),
    finish: document.getElementById("finish"), undo: document.getElementById("undo-point"),
    remove: document.getElementById("delete-shape"), save: document.getElementById("save")
  };
  var ZONE_COLORS = ["#2f81f7", "#3fb950", "#d29922", "#a371f7", "#f778ba", "#39c5cf"];
  var image = null;
  var shapes = [];        // {type: "zone"|"mask", name, points: [[x, y]...], extra: {}}; a zone's extra.enabled: its switch
  var selected = -1;
  var drawing = null;     // the shape being drawn
  var dragging = null;    // {shape, index}
  var dirty = false;

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.className = isError ? "error" : "muted";
  }

  function color(i) {
    var shape = shapes[i];
    if (shape.type === "mask") return "#da3633";
    var zoneIndex = shapes.slice(0, i).filter(function (s) { return s.type === "zone"; }).length;
    return ZONE_COLORS[zoneIndex % ZONE_COLORS.length];
  }

  function render() {
    ctx2d.clearRect(0, 0, canvas.width, canvas.height);
    if (image) ctx2d.drawImage(image, 0, 0, canvas.width, canvas.height);
    var w = canvas.width, h = canvas.height, line = Math.max(2, Math.round(w / 320));
    var all = drawing ? shapes.concat([drawing]) : shapes;
    all.forEach(function (shape, i) {
      var c = shape === drawing ? "#ffffff" : color(i);
      if (!shape.points.length) return;
      ctx2d.beginPath();
      shape.points.forEach(function (p, k) { if (k === 0) ctx2d.moveTo(p[0] * w, p[1] * h); else ctx2d.lineTo(p[0] * w, p[1] * h); });
      if (shape !== drawing) ctx2d.closePath();
      ctx2d.lineWidth = i === selected ? line * 2 : line;
      ctx2d.strokeStyle = c;
      ctx2d.setLineDash(shape.type === "zone" && shape.extra.enabled === false ? [line * 4, line * 3] : []);  // off: dashed
      ctx2d.stroke();
      ctx2d.setLineDash([]);
      if (shape !== drawing) {
        ctx2d.globalAlpha = shape.type === "mask" ? 0.35 : 0.18;
        ctx2d.fillStyle = c;
        ctx2d.fill();
        ctx2d.globalAlpha = 1;
      }
      if (i === selected || shape === drawing) {
        shape.points.forEach(function (p) {
          ctx2d.beginPath();
          ctx2d.arc(p[0] * w, p[1] * h, line * 3, 0, 2 * Math.PI);
          ctx2d.fillStyle = c;
          ctx2d.fill();
        });
      }
      if (shape.name) {
        ctx2d.font = Math.max(12, Math.round(w / 50)) + "px sans-serif";
        ctx2d.fillStyle = c;
        ctx2d.fillText(shape.name, shape.points[0][0] * w + 4, shape.points[0][1] * h - 4);
      }
    });
    renderList();
    buttons.finish.disabled = !drawing || drawing.points.length < 3;
    buttons.undo.disabled = !drawing || !drawing.points.length;
    buttons.remove.disabled = selected < 0;
  }

  function renderList() {
    list.textContent = "";
    shapes.forEach(function (shape, i) {
      var li = document.createElement("li");
      li.className = i === selected ? "selected" : "";
      li.setAttribute("data-shape", shape.type + ":" + (shape.name || i));
      var swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = color(i);
      li.appendChild(swatch);
      li.appendChild(document.createTextNode(shape.type === "zone" ? "zone " + shape.name : "motion mask " + (i + 1)));
      if (shape.type === "zone") li.appendChild(zoneSwitch(shape));
      li.addEventListener("click", function () { selected = i; drawing = null; render(); });
      list.appendChild(li);
    });
  }

  function zoneSwitch(shape) {
    var label = document.createElement("label");
    label.className = "switch zone-switch";
    label.style.marginLeft = "12px";
    var input = document.createElement("input");
    input.type = "checkbox";
    input.setAttribute("role", "switch");
    input.setAttribute("data-zone-switch", shape.name);
    input.checked = shape.extra.enabled !== false;
    var text = document.createElement("span");
    text.textContent = input.checked ? "on" : "off";
    input.addEventListener("change", function () {
      shape.extra.enabled = input.checked;
      text.textContent = input.checked ? "on" : "off";
      dirty = true;
      say("Zone " + shape.name + " switched " + (input.checked ? "on" : "off") + ": Save to apply.");
    });
    label.addEventListener("click", function (event) { event.stopPropagation(); });  // not a shape pick
    label.appendChild(input);
    label.appendChild(text);
    return label;
  }

  function relative(event) {
    var rect = canvas.getBoundingClientRect();
    var x = (event.clientX - rect.left) / rect.width, y = (event.clientY - rect.top) / rect.height;
    return [Math.min(1, Math.max(0, Math.round(x * 10000) / 10000)), Math.min(1, Math.max(0, Math.round(y * 10000) / 10000))];
  }

  function nearVertex(point, shape) {
    var rect = canvas.getBoundingClientRect();
    for (var k = 0; k < shape.points.length; k++) {
      var dx = (shape.points[k][0] - point[0]) * rect.width, dy = (shape.points[k][1] - point[1]) * rect.height;
      if (dx * dx + dy * dy < 14 * 14) return k;
    }
    return -1;
  }

  function inside(point, poly) {
    var hit = false;
    for (var i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      var xi = poly[i][0], yi = poly[i][1], xj = poly[j][0], yj = poly[j][1];
      if ((yi > point[1]) !== (yj > point[1]) && point[0] < (xj - xi) * (point[1] - yi) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  }

  canvas.addEventListener("pointerdown", function (event) {
    var point = relative(event);
    if (drawing) {
      if (drawing.points.length >= 3 && nearVertex(point, { points: [drawing.points[0]] }) === 0) { finish(); return; }
      drawing.points.push(point);
      render();
      return;
    }
    if (selected >= 0) {
      var k = nearVertex(point, shapes[selected]);
      if (k >= 0) { dragging = { shape: shapes[selected], index: k }; canvas.setPointerCapture(event.pointerId); return; }
    }
    selected = -1;
    for (var i = shapes.length - 1; i >= 0; i--) { if (inside(point, shapes[i].points)) { selected = i; break; } }
    render();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!dragging) return;
    dragging.shape.points[dragging.index] = relative(event);
    dirty = true;
    render();
  });
  canvas.addEventListener("pointerup", function () { dragging = null; });

  function start(type) {
    var name = null;
    if (type === "zone") {
      name = nameInput.value.trim();
      if (!/^[a-z0-9][a-z0-9_]{0,63}$/.test(name)) { say("Zone names are lower case letters, digits and _.", true); nameInput.focus(); return; }
      if (shapes.some(function (s) { return s.type === "zone" && s.name === name; })) { say("There is already a zone " + name + ".", true); return; }
    }
    drawing = { type: type, name: name, points: [], extra: {} };
    selected = -1;
    say("Click the corners on the picture, then Finish shape (or click the first corner).");
    render();
  }

  function finish() {
    if (!drawing || drawing.points.length < 3) return;
    shapes.push(drawing);
    selected = shapes.length - 1;
    drawing = null;
    nameInput.value = "";
    dirty = true;
    say("Shape added: Save to keep it.");
    render();
  }

  buttons.newZone.addEventListener("click", function () { start("zone"); });
  buttons.newMask.addEventListener("click", function () { start("mask"); });
  buttons.finish.addEventListener("click", finish);
  buttons.undo.addEventListener("click", function () { if (drawing) { drawing.points.pop(); render(); } });
  buttons.remove.addEventListener("click", function () {
    if (selected < 0) return;
    shapes.splice(selected, 1);
    selected = -1;
    dirty = true;
    render();
  });
  buttons.save.addEventListener("click", async function () {
    var body = { zones: {}, motion_mask: [] };
    shapes.forEach(function (s) {
      if (s.type === "zone") body.zones[s.name] = Object.assign({}, s.extra, { coordinates: s.points });
      else body.motion_mask.push(s.points);
    });
    buttons.save.disabled = true;
    say("Saving…");
    try {
      var saved = await camwatch.api("PUT", editor.getAttribute("data-zones"), body);
      load(saved, await runtimeSwitches());
      dirty = false;
      say("Saved and applied.");
    } catch (err) {
      say("Not saved: " + err.message, true);
    } finally {
      buttons.save.disabled = false;
    }
  });
  window.addEventListener("beforeunload", function (event) { if (dirty) event.preventDefault(); });

  function toRelative(points, size) {
    var pixels = points.some(function (p) { return p[0] > 1 || p[1] > 1; });
    if (!pixels) return points.map(function (p) { return [p[0], p[1]]; });
    if (!size) return null;
    return points.map(function (p) { return [Math.round(p[0] / size[0] * 10000) / 10000, Math.round(p[1] / size[1] * 10000) / 10000]; });
  }

  function load(data, switches) {
    var size = image ? [image.naturalWidth, image.naturalHeight] : null;
    var unconvertible = false;
    shapes = [];
    Object.keys(data.zones).forEach(function (name) {
      var zone = Object.assign({}, data.zones[name]);
      var points = toRelative(zone.coordinates, size);
      delete zone.coordinates;
      // in use = on in the configuration and on its runtime switch (Home Assistant may have switched it off)
      zone.enabled = zone.enabled !== false && !(switches && switches[name] === false);
      if (!points) { unconvertible = true; return; }
      shapes.push({ type: "zone", name: name, points: points, extra: zone });
    });
    data.motion_mask.forEach(function (poly) {
      var points = toRelative(poly, size);
      if (!points) { unconvertible = true; return; }
      shapes.push({ type: "mask", name: null, points: points, extra: {} });
    });
    if (unconvertible) {
      buttons.save.disabled = true;
      say("Some shapes use pixel coordinates and there is no picture yet to convert them: wait for the camera.", true);
    }
    selected = -1;
    render();
  }

  // The zones' runtime switches ({name: bool}); none when they cannot be read (the configuration alone then).
  async function runtimeSwitches() {
    try {
      var control = await camwatch.api("GET", editor.getAttribute("data-control"));
      var camera = (control.cameras || {})[editor.getAttribute("data-camera")] || {};
      return camera.zones || {};
    } catch (err) {
      return {};
    }
  }

  async function init() {
    var data, switches;
    try { data = await camwatch.api("GET", editor.getAttribute("data-zones")); } catch (err) { say(err.message, true); return; }
    switches = await runtimeSwitches();
    var img = new Image();
    img.onload = function () {
      image = img;
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      load(data, switches);
    };
    img.onerror = function () {
      say("No picture from this camera yet: shapes are drawn on a blank frame.");
      load(data, switches);
    };
    img.src = editor.getAttribute("data-still") + "?t=" + Date.now();
  }
  init();
})();
