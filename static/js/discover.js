// Discover's search box asks for a new list as it is typed (the form's "input changed delay" trigger). Its change
// event, which fires again when the box loses focus (to a click on a result, say), would ask a second time, and
// that answer's new history entry can cancel the navigation the click has started. The form's other fields still
// ask on change; Enter still submits. Listening on the document, in the capture phase, survives htmx's swaps.
document.addEventListener("change", function (e) {
  if (e.target.matches && e.target.matches("[data-search-as-typed]")) e.stopPropagation();
}, true);
