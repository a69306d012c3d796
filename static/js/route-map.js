// The itinerary's day maps: where the page configures map tiles, each day's plain drawing is replaced by a
// Leaflet map of the same route (start point, numbered stops, the legs in order). Without tiles, or without
// JavaScript, the drawing stays.
(function () {
  "use strict";
  if (!window.L) {
    return;
  }
  document.querySelectorAll(".route-map[data-tiles]").forEach(function (box) {
    var points = JSON.parse(box.getAttribute("data-points") || "[]");
    if (points.length < 1) {
      return;
    }
    var drawing = box.querySelector(".route-drawing");
    var holder = document.createElement("div");
    holder.className = "route-leaflet";
    holder.setAttribute("role", "img");
    holder.setAttribute("aria-label", drawing ? drawing.getAttribute("aria-label") : "Route");
    box.appendChild(holder);
    var map = L.map(holder, { scrollWheelZoom: false, keyboard: false });
    L.tileLayer(box.getAttribute("data-tiles"), {
      attribution: box.getAttribute("data-attribution") || "",
      maxZoom: 18,
    }).addTo(map);
    var path = points.map(function (p) { return [p[0], p[1]]; });
    L.polyline(path.concat([path[0]]), { color: "#1d5fd1", weight: 3 }).addTo(map);
    points.forEach(function (p, index) {
      L.circleMarker([p[0], p[1]], { radius: 8, color: "#164aa3", fillColor: index ? "#fff" : "#164aa3", fillOpacity: 1 })
        .bindTooltip(index ? String(index) + ". " + p[2] : p[2], { permanent: false })
        .addTo(map);
    });
    map.fitBounds(L.latLngBounds(path).pad(0.2));
    if (drawing) {
      drawing.hidden = true;
    }
  });
})();
