// Copy buttons ([data-copy] names the field to copy). Without JavaScript the buttons stay hidden and the
// readonly field can be selected and copied by hand.
document.querySelectorAll("[data-copy]").forEach(function (button) {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var input = document.getElementById(button.dataset.copy);
    navigator.clipboard.writeText(input.value).then(function () {
      var label = button.firstChild.textContent;
      button.firstChild.textContent = "Copied";
      setTimeout(function () { button.firstChild.textContent = label; }, 2000);
    });
  });
});
