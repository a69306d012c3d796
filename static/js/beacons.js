// Page beacons (docs/analytics.md): page views, clicks on events, saves to the weekend and anything marked
// [data-track="<type>"] (with data-track-object-type / data-track-object-id), sent in batches to POST /api/v1/track
// when the page is hidden or left, or every 20 events. Nothing at all (no cookie either) when the browser asks not
// to be tracked (Do Not Track or Global Privacy Control).
// Core Web Vitals (LCP, INP, CLS, TTFB) measured by the vendored web-vitals library (static/vendor/web-vitals/, loaded
// just before this script) go out as `web_vital` events through the same queue.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || navigator.doNotTrack === "1" || window.doNotTrack === "1" || navigator.globalPrivacyControl === true) {
    return;
  }
  var URL_TRACK = script.dataset.trackUrl;
  var CSRF = script.dataset.csrf || "";
  var SIGNED_IN = script.dataset.signedIn === "1";
  var COOKIE = "wp_aid";
  var BATCH = 20;
  var queue = [];

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // A first-party, random, opaque id for this browser: it ties anonymous events together and to the account at sign-in.
  function anonymousId() {
    var match = document.cookie.match(/(?:^|;\s*)wp_aid=([!-~]{1,64}?)(?:;|$)/);
    if (match) return match[1];
    var id = uuid();
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = COOKIE + "=" + id + "; Path=/; Max-Age=31536000; SameSite=Lax" + secure;
    return id;
  }
  var aid = anonymousId();

  function track(type, objectType, objectId, context) {
    var event = { id: uuid(), type: type, at: new Date().toISOString(), anonymous_id: aid,
      context: Object.assign({ page: location.pathname }, context || {}) };
    if (objectType) event.object_type = objectType;
    if (objectId) event.object_id = String(objectId).slice(0, 64);
    queue.push(event);
    if (queue.length >= BATCH) flush();
  }

  // Anonymous pages use sendBeacon. A signed-in session needs its CSRF header, which sendBeacon cannot carry, so
  // those pages use fetch with keepalive: the same delivery after the page is gone.
  function flush() {
    if (!queue.length) return;
    var body = JSON.stringify({ events: queue.splice(0, 500) });
    if (!SIGNED_IN && navigator.sendBeacon) {
      navigator.sendBeacon(URL_TRACK, new Blob([body], { type: "application/json" }));
    } else {
      fetch(URL_TRACK, { method: "POST", body: body, keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF } }).catch(function () {});
    }
  }

  function eventId(href) {
    var match = /\/events\/(\d+)\/?$/.exec(new URL(href, location.href).pathname);
    return match ? match[1] : null;
  }

  // An item of a served list ("For you"): its impressions were logged by the server, so only what is done with it
  // is sent here, with the list's request id and the item's rank.
  function listContext(element) {
    var item = element.closest && element.closest("[data-rec-rank]");
    var list = item && item.closest("[data-rec-request-id]");
    if (!list) return null;
    return { request_id: list.dataset.recRequestId, rank: parseInt(item.dataset.recRank, 10) };
  }

  document.addEventListener("click", function (e) {
    var marked = e.target.closest && e.target.closest("[data-track]");
    if (marked) {
      track(marked.dataset.track, marked.dataset.trackObjectType, marked.dataset.trackObjectId);
      return;
    }
    var link = e.target.closest && e.target.closest("a[href]");
    var id = link && eventId(link.getAttribute("href"));
    if (id) track("click", "event", id, listContext(link));
  }, true);

  document.addEventListener("submit", function (e) {
    var match = /\/weekend\/add\/(\d+)\//.exec(e.target.getAttribute("action") || "");
    if (match) track("save", "event", match[1], listContext(e.target));
  }, true);

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush();
  });
  window.addEventListener("pagehide", flush);
  track("page_view", "page", location.pathname);

  // Each metric is reported once it is final: TTFB after load, LCP at the first input or when the page is hidden,
  // CLS and INP when the page is hidden (web-vitals listens on window, ahead of the flush above, so they join the
  // batch that goes then). The server keeps `page` and a finite `value`; p75 is computed per page and name.
  var vitals = window.webVitals;
  if (vitals) {
    var reportVital = function (metric) {
      if (typeof metric.value !== "number" || !isFinite(metric.value)) return;
      var page = location.pathname.slice(0, 1024);  // the context stays well under its 2,048 bytes
      track("web_vital", "page", page, { name: metric.name, value: metric.value, page: page,
        rating: metric.rating, id: metric.id });
    };
    vitals.onLCP(reportVital);
    vitals.onINP(reportVital);
    vitals.onCLS(reportVital);
    vitals.onTTFB(reportVital);
  }
})();
