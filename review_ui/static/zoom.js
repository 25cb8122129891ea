// Evidence zoom: click a key frame or crop to open it full size, then zoom with the
// buttons or the mouse wheel and pan by scrolling. Loaded from /static (the CSP
// forbids inline scripts).
(function () {
  "use strict";
  var dialog = document.getElementById("zoom");
  var image = document.getElementById("zoom-image");
  if (!dialog || !image) { return; }
  var scale = 1;

  function apply() {
    image.style.width = (image.naturalWidth * scale) + "px";
    image.dataset.scale = String(scale);
  }
  function setScale(next) {
    scale = Math.min(8, Math.max(0.25, next));
    apply();
  }

  document.querySelectorAll("img.zoomable").forEach(function (thumb) {
    thumb.addEventListener("click", function () {
      image.src = thumb.src;
      image.alt = thumb.alt;
      scale = 2;
      if (image.complete) { apply(); } else { image.onload = apply; }
      dialog.showModal();
    });
  });
  dialog.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var action = button.dataset.zoom;
      if (action === "in") { setScale(scale * 1.5); }
      else if (action === "out") { setScale(scale / 1.5); }
      else if (action === "reset") { setScale(1); }
      else { dialog.close(); }
    });
  });
  dialog.addEventListener("wheel", function (event) {
    event.preventDefault();
    setScale(event.deltaY < 0 ? scale * 1.2 : scale / 1.2);
  }, { passive: false });
})();
