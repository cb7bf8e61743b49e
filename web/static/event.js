// Event page: the picture with or without the boxes drawn, switched in place (the page and
// its way back stay).
"use strict";
(function () {
  var img = document.getElementById("snapshot");
  var toggle = document.getElementById("toggle-boxes");
  if (!img || !toggle) return;
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    var clean = toggle.getAttribute("aria-pressed") !== "true";
    img.src = img.getAttribute(clean ? "data-clean" : "data-annotated");
    toggle.setAttribute("aria-pressed", clean ? "true" : "false");
    toggle.textContent = clean ? "With boxes" : "Without boxes";
  });
})();
