// Events list: the filters are folded away on a phone (the events come first) and open on a
// wide screen, where they fit beside nothing else.
"use strict";
(function () {
  var box = document.getElementById("filters-box");
  if (box && window.matchMedia("(min-width: 700px)").matches) box.open = true;
})();
